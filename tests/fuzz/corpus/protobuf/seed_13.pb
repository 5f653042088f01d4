message.chat.resend*10022
c-1¼”´0:again