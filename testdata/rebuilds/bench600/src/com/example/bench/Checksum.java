package com.example.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/** Prints the SHA-256 of each file named on the command line. */
public final class Checksum {
    private Checksum() {}

    public static void main(String[] args) throws Exception {
        for (String name : args) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] sum = md.digest(Files.readAllBytes(Path.of(name)));
            System.out.println(HexFormat.of().formatHex(sum) + "  " + name);
        }
    }
}
