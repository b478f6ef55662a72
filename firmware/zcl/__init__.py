"""The ZCL engines every device and the hub run: a server for the clusters a component serves,
a client for the clusters it reads (ZCL 07-5123)."""
