package io.ferry.receiver.config;

import java.util.List;
import java.util.Objects;

/**
 * An agent that receiver.yaml allows to connect, and the consistency groups it owns: only
 * these may appear in its HELLO, and no other agent may write to them.
 *
 * @param id the agent's name; must equal the CN of the certificate it connects with
 * @param groups the groups it owns, in file order, each owned by no other agent
 */
public record AllowedAgent(String id, List<String> groups) {

    public AllowedAgent {
        Objects.requireNonNull(id, "id");
        groups = List.copyOf(groups);
    }

    public boolean owns(String group) {
        return groups.contains(group);
    }
}
