ack.message2
c-1€¼”´