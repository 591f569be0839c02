"""The department registry (报送部门登记簿): the departments that report, the names they are
written by, the bodies each reports for. Ingest and accounts take only registered ones."""
