def greeting(mode):
    return "hello from the %s build" % mode
