message.group.notify2)
system{"members":["system","1001"]}