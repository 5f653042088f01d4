ack.group.msg2
g-1	M 