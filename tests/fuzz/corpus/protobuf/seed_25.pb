notify.state2
1002