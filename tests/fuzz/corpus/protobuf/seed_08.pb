notify.unknown.action2
x.y