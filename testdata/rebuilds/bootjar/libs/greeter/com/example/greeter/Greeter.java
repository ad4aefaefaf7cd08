package com.example.greeter;

/** Greets by name. */
public final class Greeter {
    private final String salutation;

    public Greeter(String salutation) {
        this.salutation = salutation;
    }

    public String greet(String name) {
        return salutation + ", " + name + "!";
    }
}
