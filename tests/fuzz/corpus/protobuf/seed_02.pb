hello2,"1.0.0*tmp@x0:
glide.json:glide.protobuf