#!/bin/sh
# build.sh SRC OUT: build a Spring Boot-style fat jar OUT/app.jar from SRC with
# javac, jar and zip only (no Maven, no Gradle, no Spring Boot plugin), laid
# out as spring-boot-maven-plugin lays it out:
#
#   META-INF/MANIFEST.MF                  Main-Class, Start-Class, Build-Time
#   com/example/boot/*.class              the launcher (Spring Boot's loader)
#   BOOT-INF/classes/**                   the application's classes and resources
#   BOOT-INF/classes/META-INF/build-info.properties   build.time = now
#   BOOT-INF/lib/*.jar                    the libraries, STORED (not deflated),
#                                         each with META-INF/maven/**/pom.properties
#   BOOT-INF/classpath.idx, BOOT-INF/layers.idx
set -eu
src=$1 out=$2
b=$(mktemp -d /tmp/bootjar.XXXXXX)

# The libraries, as Maven would build them: a pom.properties with the build
# date in a comment.
lib() { # lib NAME
	mkdir -p "$b/$1/META-INF/maven/com.example/$1"
	javac -d "$b/$1" $(find "$src/libs/$1" -name '*.java')
	printf '#Created by Apache Maven 3.8.7\n#%s\nartifactId=%s\ngroupId=com.example\nversion=1.0.0\n' \
		"$(date)" "$1" >"$b/$1/META-INF/maven/com.example/$1/pom.properties"
	jar --create --file "$b/jar/BOOT-INF/lib/$1-1.0.0.jar" -C "$b/$1" .
}
mkdir -p "$b/jar/BOOT-INF/lib" "$b/jar/BOOT-INF/classes/META-INF"
lib greeter
lib textutil

# The application and its build-info.properties (what spring-boot:build-info
# writes: build.time with its colons escaped).
javac -d "$b/jar/BOOT-INF/classes" -cp "$b/greeter:$b/textutil" $(find "$src/src" -name '*.java')
cp "$src/resources/"* "$b/jar/BOOT-INF/classes/"
cat >"$b/jar/BOOT-INF/classes/META-INF/build-info.properties" <<EOT
build.artifact=demo
build.group=com.example
build.name=demo
build.time=$(date -u +%Y-%m-%dT%H\\:%M\\:%S.%3NZ)
build.version=0.0.1-SNAPSHOT
EOT
javac -d "$b/jar" $(find "$src/launcher" -name '*.java')

cat >"$b/jar/BOOT-INF/classpath.idx" <<'EOT'
- "BOOT-INF/lib/greeter-1.0.0.jar"
- "BOOT-INF/lib/textutil-1.0.0.jar"
EOT
cat >"$b/jar/BOOT-INF/layers.idx" <<'EOT'
- "dependencies":
  - "BOOT-INF/lib/"
- "spring-boot-loader":
  - "com/"
- "snapshot-dependencies":
- "application":
  - "BOOT-INF/classes/"
  - "BOOT-INF/classpath.idx"
  - "BOOT-INF/layers.idx"
  - "META-INF/"
EOT

# The manifest: the committed headers plus Build-Time; jar adds
# Manifest-Version and Created-By (the JDK's version).
cp "$src/MANIFEST.MF" "$b/MANIFEST.MF"
printf 'Build-Time: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$b/MANIFEST.MF"

# Everything but the libraries deflated by jar, then the libraries stored
# (zip -0), as Spring Boot stores nested jars.
mkdir -p "$out"
rm -f "$out/app.jar"
(cd "$b/jar" && jar --create --file "$out/app.jar" --manifest "$b/MANIFEST.MF" com BOOT-INF/classes BOOT-INF/classpath.idx BOOT-INF/layers.idx)
(cd "$b/jar" && zip -q -0 "$out/app.jar" BOOT-INF/lib/*.jar)
rm -rf "$b"
