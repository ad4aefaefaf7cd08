package com.example.textutil;

/** Frames a line of text. */
public final class Banner {
    private Banner() {
    }

    public static String frame(String text) {
        String bar = "+" + "-".repeat(text.length() + 2) + "+";
        return bar + "\n| " + text + " |\n" + bar;
    }
}
