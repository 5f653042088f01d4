hello2
1.2.0ts-sdkweb