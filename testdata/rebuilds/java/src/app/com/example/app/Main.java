package com.example.app;

import com.example.lib.Greeter;

public final class Main {
    public static void main(String[] args) {
        System.out.println(new Greeter("rebuild").greet());
    }
}
