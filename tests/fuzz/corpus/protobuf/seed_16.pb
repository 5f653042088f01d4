
ack.notify2€¼”´