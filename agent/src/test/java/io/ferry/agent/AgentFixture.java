package io.ferry.agent;

import io.ferry.agent.config.AgentConfig;
import java.nio.file.Path;

/** Builds agent configurations for tests: one group "db" of two volumes, NBD on a free port and a socket. */
final class AgentFixture {
    static final long VOLUME_BYTES = 64L << 20;

    private AgentFixture() {
    }

    static String yaml(Path dir, long volumeBytes) {
        return """
                id: host-a
                dataDir: %1$s/agent-data
                nbd:
                  listen: 127.0.0.1:0
                  socket: %1$s/agent.sock
                api:
                  listen: 127.0.0.1:0
                groups:
                  - name: db
                    rpo: 30s
                    volumes:
                      - name: db-data
                        path: %1$s/db-data.img
                        size: %2$d
                      - name: db-log
                        path: %1$s/db-log.img
                        size: %2$d
                """.formatted(dir, volumeBytes);
    }

    static AgentConfig config(Path dir) {
        return AgentConfig.parse(yaml(dir, VOLUME_BYTES), dir);
    }
}
