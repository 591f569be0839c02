"""Lists (名单): list kinds as data, the admission workflow and its entries, lists arriving as data."""
