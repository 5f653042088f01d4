message.group"1001*grp12
g-1"1001*grp10:helloBabc