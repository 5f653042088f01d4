message.group.notify2
system{"uid":"1001"}