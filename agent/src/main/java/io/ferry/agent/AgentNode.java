package io.ferry.agent;

import io.ferry.agent.config.AgentConfig;

/** The agent daemon as an object: {@link #launch} starts it, {@link #close} stops it. */
public final class AgentNode implements AutoCloseable {

    private AgentNode() {
    }

    public static AgentNode launch(AgentConfig config) throws Exception {
        throw new UnsupportedOperationException("not yet");
    }

    @Override
    public void close() {
    }
}
