package io.ferry.receiver.session;

import io.ferry.receiver.config.AllowedAgent;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * What every session of one receiver shares, immutable: the receiver's name, the agents allowed
 * in, the group links, the limits, how peers are identified, and the executor for the rare
 * blocking step of HELLO (attaching volumes creates replica files).
 */
public record SessionContext(String receiverId, Map<String, AllowedAgent> agents, Map<String, GroupLink> links,
                             SessionSettings settings, PeerIdentity identity, Executor blockingExecutor) {

    public SessionContext {
        Objects.requireNonNull(receiverId, "receiverId");
        agents = Map.copyOf(agents);
        links = Map.copyOf(links);
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(blockingExecutor, "blockingExecutor");
        for (GroupLink link : links.values()) {
            AllowedAgent owner = agents.get(link.agentId());
            if (owner == null || !owner.owns(link.group())) {
                throw new IllegalArgumentException(link + " is not owned by a listed agent");
            }
        }
        for (AllowedAgent agent : agents.values()) {
            for (String group : agent.groups()) {
                if (!links.containsKey(group)) {
                    throw new IllegalArgumentException("group " + group + " of agent " + agent.id() + " has no link");
                }
            }
        }
    }

    /** Agents keyed by id. */
    public static Map<String, AllowedAgent> byId(List<AllowedAgent> agents) {
        Map<String, AllowedAgent> map = new LinkedHashMap<>();
        for (AllowedAgent agent : agents) {
            map.put(agent.id(), agent);
        }
        return map;
    }
}
