message.cli"1001*10022:
typing0{"x":"\u003ca\u003e","n":[1,2.5,-3e7,true,null]}BTR
a1R
kv