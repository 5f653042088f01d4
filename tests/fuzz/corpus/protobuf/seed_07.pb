notify.forbidden2
ticket expired