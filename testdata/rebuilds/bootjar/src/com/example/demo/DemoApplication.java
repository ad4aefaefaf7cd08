package com.example.demo;

import com.example.textutil.Banner;

/** The application's entry point (the jar's Start-Class). */
public final class DemoApplication {
    private DemoApplication() {
    }

    public static void main(String[] args) {
        System.out.println(Banner.frame(new GreetingService().greeting(args.length > 0 ? args[0] : "world")));
    }
}
