api.state.sub2
1002
1003