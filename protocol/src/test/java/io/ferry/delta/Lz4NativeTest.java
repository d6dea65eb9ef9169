package io.ferry.delta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.testing.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import net.jpountz.lz4.LZ4Factory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Lz4NativeTest {

    /** Compresses with the factories ferry uses, says which implementation ran, then waits to be killed. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            byte[] data = new byte[1 << 16];
            byte[] out = new byte[Lz4Native.lz4().fastCompressor().maxCompressedLength(data.length)];
            int n = Lz4Native.lz4().fastCompressor().compress(data, 0, data.length, out, 0, out.length);
            Files.writeString(Path.of(args[0]), "native=" + Lz4Native.isNative()
                    + " jni=" + (Lz4Native.lz4() == LZ4Factory.nativeInstance()) + " compressed=" + n + "\n");
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    @Test
    void shouldUseTheJniLibraryAndLeaveNoCopyInTheTempDirAfterAKill9(@TempDir Path dir) throws Exception {
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        Path marker = dir.resolve("ready");
        try (ChildJvm child = ChildJvm.start(dir.resolve("child.log"), List.of("-Djava.io.tmpdir=" + tmp),
                Child.class.getName(), marker.toString())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(marker) && Files.size(marker) > 0);
            child.kill9();
        }
        assertThat(Files.readString(marker)).startsWith("native=true jni=true compressed=");
        assertThat(list(tmp)).as("what the killed JVM left in its temp dir").isEmpty();
    }

    @Test
    void shouldServeTheNativeFactoriesInProcess() {
        assertThat(Lz4Native.isNative()).isTrue();
        assertThat(Lz4Native.lz4()).isSameAs(LZ4Factory.nativeInstance());
        assertThat(Lz4Native.xxhash().hash64().getClass().getSimpleName()).contains("JNI");
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.contains("lz4")).toList();
        }
    }
}
