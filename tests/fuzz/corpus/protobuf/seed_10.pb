message.chat*10022
c-10:hi@€¼”´B(937116764d1d428c8e47b0d8f985b1d543363f1d