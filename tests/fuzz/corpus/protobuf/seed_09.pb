internal.online2
node1_1001_