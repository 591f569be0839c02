"""C1 Catalog: the public credit information catalog (公共信用信息目录) and its versions."""
