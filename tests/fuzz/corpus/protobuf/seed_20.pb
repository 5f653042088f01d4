notify.kickout2
d-2Pixel 8