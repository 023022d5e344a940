print("zabbix-tee")
