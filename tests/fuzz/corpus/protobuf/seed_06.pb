notify.error2
invalid authenticate message