ÿÿÿÿÿÿÿÿÿx.custom"a*b:mBtJsR
a1R
z26Z[1,{"k":"v"}]