package com.example.boot;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarInputStream;

/**
 * Runs the Start-Class of the fat jar it is in, as Spring Boot's JarLauncher
 * does: the application's classes are under BOOT-INF/classes/, its libraries
 * are jars stored (not deflated) under BOOT-INF/lib/.
 */
public final class NestedJarLauncher extends ClassLoader {
    private static final String CLASSES = "BOOT-INF/classes/";
    private static final String LIB = "BOOT-INF/lib/";

    private final Map<String, byte[]> classes = new HashMap<>();

    private NestedJarLauncher(ClassLoader parent) {
        super(parent);
    }

    public static void main(String[] args) throws Exception {
        File self = new File(NestedJarLauncher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        NestedJarLauncher loader = new NestedJarLauncher(NestedJarLauncher.class.getClassLoader());
        String start;
        try (JarFile jar = new JarFile(self)) {
            start = jar.getManifest().getMainAttributes().getValue("Start-Class");
            for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements();) {
                JarEntry entry = e.nextElement();
                String name = entry.getName();
                if (name.startsWith(CLASSES) && name.endsWith(".class")) {
                    try (InputStream in = jar.getInputStream(entry)) {
                        loader.add(name.substring(CLASSES.length()), in);
                    }
                } else if (name.startsWith(LIB) && name.endsWith(".jar")) {
                    try (JarInputStream in = new JarInputStream(jar.getInputStream(entry))) {
                        for (JarEntry nested; (nested = in.getNextJarEntry()) != null;) {
                            if (nested.getName().endsWith(".class")) {
                                loader.add(nested.getName(), in);
                            }
                        }
                    }
                }
            }
        }
        loader.loadClass(start).getMethod("main", String[].class).invoke(null, (Object) args);
    }

    private void add(String path, InputStream in) throws IOException {
        String name = path.substring(0, path.length() - ".class".length()).replace('/', '.');
        classes.put(name, in.readAllBytes());
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        byte[] b = classes.get(name);
        if (b == null) {
            throw new ClassNotFoundException(name);
        }
        return defineClass(name, b, 0, b.length);
    }
}
