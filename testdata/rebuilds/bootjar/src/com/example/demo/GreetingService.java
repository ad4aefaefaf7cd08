package com.example.demo;

import com.example.greeter.Greeter;

/** The application's one service. */
public final class GreetingService {
    private final Greeter greeter = new Greeter("hello");

    public String greeting(String name) {
        return greeter.greet(name);
    }
}
