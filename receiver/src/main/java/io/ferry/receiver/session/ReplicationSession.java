package io.ferry.receiver.session;

import io.ferry.replica.store.GroupTarget;
import io.ferry.delta.Delta;
import io.ferry.delta.DeltaDecoder;
import io.ferry.receiver.config.AllowedAgent;
import io.ferry.wire.Ack;
import io.ferry.wire.Bookmark;
import io.ferry.wire.BlockHashes;
import io.ferry.wire.SyncMark;
import io.ferry.wire.ControlMessage;
import io.ferry.wire.ErrorCode;
import io.ferry.wire.ErrorMessage;
import io.ferry.wire.Frame;
import io.ferry.wire.FrameDecoder;
import io.ferry.wire.Frames;
import io.ferry.wire.GroupAck;
import io.ferry.wire.GroupHello;
import io.ferry.wire.Heartbeat;
import io.ferry.wire.Hello;
import io.ferry.wire.HelloAck;
import io.ferry.wire.ProtocolException;
import io.ferry.wire.VolumeInfo;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiver's end of one replication connection, after the TLS layer and the
 * {@link FrameDecoder}.
 *
 * <p>Protocol: the first frame must be HELLO, within {@link SessionSettings#helloTimeout()} of
 * connecting. The agent is admitted only if its certificate CN equals the agent id in HELLO and
 * receiver.yaml lists that agent; every group it names must be one receiver.yaml gives it. The
 * session then takes each group over (closing an older session of that group), attaches the
 * announced volumes off the event loop, waits until everything earlier sessions handed over is
 * durable, and answers HELLO_ACK with each group's durable seq and generation id. Each DELTA is
 * decoded (checksum included) and checked (its group belongs to this session, its extents lie
 * inside their volumes, it starts right after the received seq) before it reaches the group's
 * journal; the ACK follows when the journal has synced it. HEARTBEATs are echoed. Anything the
 * protocol does not allow is answered with one ERROR frame, one log line, and the close; it never
 * reaches a replica.
 *
 * <p>Threads: owned by its channel's event loop, which it never blocks. Durability callbacks
 * arrive on journal threads and are handed to the loop; the attach step runs on
 * {@link SessionContext#blockingExecutor()} and hands its result back the same way.
 */
public final class ReplicationSession extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(ReplicationSession.class);

    enum State { AWAIT_HELLO, ATTACHING, ACTIVE, CLOSED }

    private final SessionContext context;
    private final DeltaDecoder decoder;
    private final Map<String, SessionGroup> groups = new HashMap<>();
    private final List<GroupLink> taken = new ArrayList<>();
    private final List<GroupLink> fencedGroups = new ArrayList<>();
    private volatile ChannelHandlerContext ctx;
    private State state = State.AWAIT_HELLO;
    private String peer = "peer (unidentified)";
    private String agentId;
    private ScheduledFuture<?> helloDeadline;
    private boolean tlsFailureLogged;
    private boolean readPaused;

    public ReplicationSession(SessionContext context) {
        this.context = context;
        this.decoder = new DeltaDecoder(context.settings().maxDeltaBytes());
    }

    /** The agent id once HELLO was accepted, else null. Event loop only. */
    String agentId() {
        return agentId;
    }

    State state() {
        return state;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.peer = "peer " + ctx.channel().remoteAddress();
        if (ctx.channel().isActive()) {
            armHelloDeadline();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        armHelloDeadline();
        ctx.fireChannelActive();
    }

    private void armHelloDeadline() {
        if (helloDeadline == null && state == State.AWAIT_HELLO) {
            long timeoutNanos = context.settings().helloTimeout().toNanos();
            helloDeadline = ctx.executor().schedule(this::onHelloDeadline, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void onHelloDeadline() {
        String limit = context.settings().helloTimeout().toMillis() + " ms";
        if (state == State.AWAIT_HELLO) {
            fail(new ProtocolException(ErrorCode.MALFORMED, "no HELLO within " + limit + " of connecting"));
        } else if (state == State.ATTACHING) {
            fail(new ProtocolException(ErrorCode.INTERNAL, "the receiver could not attach the groups of HELLO"
                    + " within " + limit + "; try again later"));
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Frame frame)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (state == State.CLOSED) {
            frame.release();
            return;
        }
        try {
            if (frame.type() == Frames.DELTA) {
                onDelta(frame);
            } else {
                ControlMessage message;
                try {
                    message = ControlMessage.decode(frame);
                } finally {
                    frame.release();
                }
                onControl(message);
            }
        } catch (ProtocolException e) {
            fail(e);
        } catch (RuntimeException e) {
            LOG.error("replication session with {}: receiver error", peer, e);
            fail(new ProtocolException(ErrorCode.INTERNAL, "receiver error: " + e));
        }
    }

    private void onControl(ControlMessage message) {
        if (message instanceof Hello hello) {
            if (state != State.AWAIT_HELLO) {
                throw new ProtocolException(ErrorCode.MALFORMED, "a second HELLO; HELLO is sent once per session");
            }
            onHello(hello);
            return;
        }
        if (state == State.AWAIT_HELLO) {
            throw new ProtocolException(ErrorCode.MALFORMED, "the first frame must be HELLO, got "
                    + Frames.typeName(message.frameType()));
        }
        if (message instanceof Heartbeat heartbeat) {
            ctx.writeAndFlush(new Heartbeat(heartbeat.sentEpochNanos()).encode(ctx.alloc()));
        } else if (message instanceof ErrorMessage error) {
            LOG.warn("replication session with {}: the agent sent ERROR {}: {}; closing", peer, error.code(),
                    error.text());
            close();
        } else if (message instanceof Bookmark bookmark) {
            if (state != State.ACTIVE || !groups.containsKey(bookmark.group())) {
                throw new ProtocolException(ErrorCode.GROUP_NOT_ALLOWED, "BOOKMARK for group " + bookmark.group()
                        + ", which this session does not replicate");
            }
            LOG.info("{}: bookmark \"{}\" of group {} at seq {} received", peer, bookmark.label(), bookmark.group(),
                    bookmark.seq());
            GroupTarget target = groups.get(bookmark.group()).link.target();
            if (bookmark.seq() > target.receivedSeq()) {
                throw new ProtocolException(ErrorCode.MALFORMED, "BOOKMARK of group " + bookmark.group() + " at seq "
                        + bookmark.seq() + " arrived before the delta holding that seq (received up to seq "
                        + target.receivedSeq() + "); a bookmark follows its delta");
            }
            target.bookmark(bookmark.seq(), bookmark.label());
        } else if (message instanceof SyncMark mark) {
            if (state != State.ACTIVE || !groups.containsKey(mark.group())) {
                throw new ProtocolException(ErrorCode.GROUP_NOT_ALLOWED, "SYNC for group " + mark.group()
                        + ", which this session does not replicate");
            }
            GroupTarget target = groups.get(mark.group()).link.target();
            if (mark.seq() > target.receivedSeq()) {
                throw new ProtocolException(ErrorCode.MALFORMED, "SYNC of group " + mark.group() + " at seq "
                        + mark.seq() + " arrived before the delta holding that seq (received up to seq "
                        + target.receivedSeq() + "); a sync mark follows its delta");
            }
            target.syncMark(mark);
        } else if (message instanceof BlockHashes hashes) {
            onHashes(hashes);
        } else {
            throw new ProtocolException(ErrorCode.MALFORMED, Frames.typeName(message.frameType())
                    + " is sent by the receiver, never by an agent");
        }
    }

    /** Checks a HASHES frame completely before the target compares anything. */
    private void onHashes(BlockHashes hashes) {
        if (state != State.ACTIVE || !groups.containsKey(hashes.group())) {
            throw new ProtocolException(ErrorCode.GROUP_NOT_ALLOWED, "HASHES for group " + hashes.group()
                    + ", which this session does not replicate");
        }
        GroupTarget target = groups.get(hashes.group()).link.target();
        List<VolumeInfo> volumes = target.volumes();
        if (hashes.volume() >= volumes.size()) {
            throw new ProtocolException(ErrorCode.MALFORMED, "HASHES of group " + hashes.group() + " name volume index "
                    + hashes.volume() + " but the group has " + volumes.size() + " volume(s)");
        }
        long size = volumes.get(hashes.volume()).sizeBytes();
        if (hashes.offset() >= size || hashes.end() - hashes.blockBytes() >= size) {
            throw new ProtocolException(ErrorCode.MALFORMED, "HASHES of group " + hashes.group() + " cover "
                    + hashes.offset() + ".." + hashes.end() + " of volume " + volumes.get(hashes.volume()).name()
                    + ", which has " + size + " bytes");
        }
        if (hashes.seq() > target.receivedSeq()) {
            throw new ProtocolException(ErrorCode.MALFORMED, "HASHES of group " + hashes.group() + " at seq "
                    + hashes.seq() + " arrived before the delta holding that seq (received up to seq "
                    + target.receivedSeq() + ")");
        }
        if (hashes.seq() < target.appliedSeq()) {
            throw new ProtocolException(ErrorCode.MALFORMED, "HASHES of group " + hashes.group() + " at seq "
                    + hashes.seq() + " arrived after the replica applied seq " + target.appliedSeq()
                    + "; hashes follow the delta holding their seq, before any later one");
        }
        io.netty.channel.Channel channel = ctx.channel();
        target.compareHashes(hashes, diff -> channel.writeAndFlush(diff.encode(channel.alloc())));
    }

    // ---- HELLO ----

    private void onHello(Hello hello) {
        String commonName;
        try {
            commonName = context.identity().commonName(ctx);
        } catch (SSLPeerUnverifiedException e) {
            throw new ProtocolException(ErrorCode.UNKNOWN_AGENT, "HELLO from agent " + hello.agentId()
                    + " without a verified client certificate: " + e.getMessage());
        }
        if (!commonName.equals(hello.agentId())) {
            throw new ProtocolException(ErrorCode.UNKNOWN_AGENT, "HELLO says agent \"" + hello.agentId()
                    + "\" but the client certificate is for \"" + commonName
                    + "\"; an agent's id must equal the CN of its certificate");
        }
        AllowedAgent agent = context.agents().get(hello.agentId());
        if (agent == null) {
            throw new ProtocolException(ErrorCode.UNKNOWN_AGENT, "agent \"" + hello.agentId()
                    + "\" is not listed under agents in the receiver.yaml of " + context.receiverId());
        }
        agentId = agent.id();
        peer = "agent " + agentId + " (" + ctx.channel().remoteAddress() + ")";
        if (hello.minVersion() > Frames.VERSION || hello.maxVersion() < Frames.VERSION) {
            throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION, "HELLO offers protocol versions "
                    + hello.minVersion() + ".." + hello.maxVersion() + ", this receiver speaks version " + Frames.VERSION);
        }
        for (GroupHello group : hello.groups()) {
            if (!agent.owns(group.name())) {
                throw new ProtocolException(ErrorCode.GROUP_NOT_ALLOWED, "agent " + agentId + " may not write group \""
                        + group.name() + "\"; the receiver.yaml of " + context.receiverId() + " gives it "
                        + agent.groups());
            }
            if (group.volumes().isEmpty()) {
                throw new ProtocolException(ErrorCode.MALFORMED, "HELLO announces group " + group.name()
                        + " without volumes");
            }
        }
        state = State.ATTACHING;
        List<GroupHello> wanted = new ArrayList<>(hello.groups().size());
        for (GroupHello group : hello.groups()) {
            GroupLink link = context.links().get(group.name());
            var relation = link.target().history().relate(link.lastSeq(), group.history(), group.lastSeq());
            link.agentRelation(relation);
            if (relation.kind() == io.ferry.generation.GenerationHistory.Kind.SPLIT_BRAIN) {
                LOG.warn("{}: group {} is in split brain: the agent wrote {} seq(s) and this site {} past seq {},"
                        + " where the copies diverged", peer, group.name(), relation.otherDivergentSeqs(),
                        relation.selfDivergentSeqs(), relation.divergedAtSeq());
            }
            if (link.promoted()) {
                fencedGroups.add(link);
                LOG.warn("{}: group {} was promoted at the DR site; answering HELLO with status PROMOTED", peer,
                        group.name());
            } else {
                wanted.add(group);
            }
        }
        for (GroupHello group : wanted) {
            GroupLink link = context.links().get(group.name());
            taken.add(link);
            ReplicationSession previous = link.takeOver(this);
            if (previous != null) {
                previous.supersede(group.name(), ctx.channel().remoteAddress());
            }
        }
        try {
            context.blockingExecutor().execute(() -> attach(wanted));
        } catch (RejectedExecutionException e) {
            throw new ProtocolException(ErrorCode.INTERNAL, "the receiver is shutting down");
        }
    }

    /** Off the event loop: attaches the volumes, then waits until earlier appends are durable. */
    private void attach(List<GroupHello> wanted) {
        int count = wanted.size();
        List<GroupLink> links = new ArrayList<>(count);
        int[] statuses = new int[count];
        for (GroupHello group : wanted) {
            GroupLink link = context.links().get(group.name());
            links.add(link);
            String failed = link.target().failure();
            if (failed != null) {
                failOnLoop(new ProtocolException(ErrorCode.INTERNAL, "group " + group.name()
                        + " has failed on the receiver: " + failed));
                return;
            }
            try {
                link.target().attachVolumes(group.volumes());
            } catch (IllegalStateException | IllegalArgumentException e) {
                failOnLoop(new ProtocolException(ErrorCode.MALFORMED, "the volumes HELLO announces for group "
                        + group.name() + " do not match the receiver's replicas: " + e.getMessage()));
                return;
            } catch (IOException | RuntimeException e) {
                LOG.error("{}: cannot attach the volumes of group {}", peer, group.name(), e);
                failOnLoop(new ProtocolException(ErrorCode.INTERNAL, "the receiver cannot attach the volumes of group "
                        + group.name() + ": " + e.getMessage()));
                return;
            }
            String failure = link.target().failure();
            if (failure != null) {
                failOnLoop(new ProtocolException(ErrorCode.INTERNAL, "group " + group.name()
                        + " has failed on the receiver: " + failure));
                return;
            }
            try {
                statuses[links.size() - 1] = link.target().admit(group.generationId());
            } catch (IllegalStateException e) {
                LOG.error("{}: {}", peer, e.getMessage());
                failOnLoop(new ProtocolException(ErrorCode.GENERATION_MISMATCH, e.getMessage()));
                return;
            } catch (IOException | RuntimeException e) {
                LOG.error("{}: cannot admit group {}", peer, group.name(), e);
                failOnLoop(new ProtocolException(ErrorCode.INTERNAL, "the receiver cannot admit group "
                        + group.name() + ": " + e.getMessage()));
                return;
            }
        }
        long[] durableSeqs = new long[count];
        if (count == 0) {
            onLoop(() -> finishHello(links, durableSeqs, statuses));
            return;
        }
        AtomicInteger remaining = new AtomicInteger(count);
        for (int i = 0; i < count; i++) {
            int index = i;
            GroupLink link = links.get(i);
            try {
                link.target().whenDurable(durableSeq -> {
                    durableSeqs[index] = durableSeq;
                    if (remaining.decrementAndGet() == 0) {
                        onLoop(() -> finishHello(links, durableSeqs, statuses));
                    }
                });
            } catch (RuntimeException e) {
                String failure = link.target().failure();
                failOnLoop(new ProtocolException(ErrorCode.INTERNAL, "group " + link.group()
                        + " cannot take deltas: " + (failure != null ? failure : e.getMessage())));
                return;
            }
        }
    }

    private void finishHello(List<GroupLink> links, long[] durableSeqs, int[] statuses) {
        if (state != State.ATTACHING) {
            return;
        }
        List<GroupAck> acks = new ArrayList<>(links.size() + fencedGroups.size());
        for (int i = 0; i < links.size(); i++) {
            GroupLink link = links.get(i);
            if (link.promoted()) {
                fail(link.promotedError());
                return;
            }
            if (!link.isOwner(this)) {
                LOG.info("{}: group {} was taken over by a newer session before HELLO_ACK; closing", peer, link.group());
                close();
                return;
            }
            groups.put(link.group(), new SessionGroup(link, link.target().volumes(), durableSeqs[i]));
            acks.add(new GroupAck(link.group(), durableSeqs[i], link.target().generationId(), statuses[i],
                    link.target().history()));
        }
        for (GroupLink link : fencedGroups) {
            // a promoted group's ack carries the seq it was promoted at: the agent's writes after it diverge
            acks.add(new GroupAck(link.group(), link.target().appliedSeq(), link.target().generationId(),
                    GroupAck.STATUS_PROMOTED, link.target().history()));
        }
        FrameDecoder frameDecoder = ctx.pipeline().get(FrameDecoder.class);
        if (frameDecoder != null) {
            frameDecoder.setMaxBodyBytes(context.settings().maxFrameBytes());
        }
        cancelHelloDeadline();
        state = State.ACTIVE;
        ctx.writeAndFlush(new HelloAck(Frames.VERSION, context.settings().maxFrameBytes(), acks).encode(ctx.alloc()));
        if (LOG.isInfoEnabled()) {
            StringBuilder resume = new StringBuilder();
            for (GroupAck ack : acks) {
                resume.append(resume.length() == 0 ? "" : ", ").append(ack.name());
                if (ack.status() == GroupAck.STATUS_PROMOTED) {
                    resume.append(" promoted (fenced)");
                } else {
                    resume.append(" from seq ").append(ack.durableSeq() + 1);
                    if (ack.needsSync()) {
                        resume.append(ack.status() == GroupAck.STATUS_SYNC_ALL ? " with a sync of every region"
                                : " with a sync of the regions holding data");
                    }
                }
            }
            LOG.info("replication session with {} established: {}", peer, acks.isEmpty() ? "no groups" : resume);
        }
    }

    // ---- DELTA ----

    /** Takes {@code frame}'s reference. */
    private void onDelta(Frame frame) {
        SessionGroup group;
        Delta delta;
        try {
            if (state == State.AWAIT_HELLO) {
                throw new ProtocolException(ErrorCode.MALFORMED, "the first frame must be HELLO, got DELTA");
            }
            if (state != State.ACTIVE) {
                throw new ProtocolException(ErrorCode.MALFORMED, "DELTA before HELLO_ACK; wait for the resume point");
            }
            delta = decoder.decode(frame.body());
            group = groups.get(delta.group());
            if (group == null) {
                GroupLink link = context.links().get(delta.group());
                if (link != null && link.promoted() && agentId.equals(link.agentId())) {
                    throw link.promotedError();
                }
                throw new ProtocolException(ErrorCode.GROUP_NOT_ALLOWED, "DELTA for group " + delta.group()
                        + ", which this session's HELLO did not announce");
            }
            group.checkExtents(delta);
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
        boolean appended = group.link.append(this, frame.body(), delta.firstSeq(), delta.lastSeq(),
                delta.firstCaptureNanos(), delta.lastCaptureNanos(), group);
        if (!appended) {
            LOG.info("{}: group {} was taken over by a newer session; closing this one", peer, group.link.group());
            close();
            return;
        }
        if (!readPaused && group.link.target().queuedAppendBytes() > context.settings().maxQueuedAppendBytes()) {
            readPaused = true;
            ctx.channel().config().setAutoRead(false);
            group.link.target().whenDurable(group);
        }
    }

    private void resumeReadingIfDrained() {
        if (!readPaused || state == State.CLOSED) {
            return;
        }
        for (SessionGroup group : groups.values()) {
            if (group.link.target().queuedAppendBytes() > context.settings().maxQueuedAppendBytes()) {
                group.link.target().whenDurable(group);
                return;
            }
        }
        readPaused = false;
        ctx.channel().config().setAutoRead(true);
    }

    // ---- failures and the end ----

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof SslHandshakeCompletionEvent handshake && !handshake.isSuccess()) {
            logTlsFailure(handshake.cause());
            state = State.CLOSED;
            ctx.close();
        }
        ctx.fireUserEventTriggered(event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ProtocolException protocolError = ProtocolException.find(cause);
        if (protocolError != null) {
            fail(protocolError);
            return;
        }
        if (findSslException(cause) != null) {
            logTlsFailure(cause);
            state = State.CLOSED;
            ctx.close();
            return;
        }
        if (cause instanceof IOException) {
            if (state != State.CLOSED) {
                LOG.info("replication session with {}: connection lost: {}", peer, cause.getMessage());
            }
            close();
            return;
        }
        LOG.error("replication session with {}: receiver error", peer, cause);
        fail(new ProtocolException(ErrorCode.INTERNAL, "receiver error: " + cause));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (agentId != null && state != State.CLOSED) {
            LOG.info("replication session with {} closed by the peer", peer);
        }
        state = State.CLOSED;
        cancelHelloDeadline();
        releaseGroups();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancelHelloDeadline();
        releaseGroups();
    }

    /**
     * Answers {@code error} with an ERROR frame, logs one line naming the peer and what was wrong,
     * and closes once the frame is written. Later frames are dropped.
     */
    private void fail(ProtocolException error) {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        cancelHelloDeadline();
        releaseGroups();
        LOG.warn("replication session with {} refused: {}; closing", peer, error.getMessage());
        ctx.writeAndFlush(new ErrorMessage(error.code(), detail(error)).encode(ctx.alloc()))
                .addListener(ChannelFutureListener.CLOSE);
    }

    /** The exception's message without its "CODE: " prefix: the code travels as its own field. */
    private static String detail(ProtocolException error) {
        String message = error.getMessage();
        String prefix = error.code() + ": ";
        return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
    }

    private void close() {
        state = State.CLOSED;
        cancelHelloDeadline();
        releaseGroups();
        ctx.close();
    }

    /** Called by the session that took {@code group} over, on its own thread. */
    private void supersede(String group, Object newPeer) {
        onLoop(() -> {
            if (state != State.CLOSED) {
                LOG.info("replication session with {}: group {} taken over by a new session from {}; closing this one",
                        peer, group, newPeer);
                close();
            }
        });
    }

    /** Called by {@link GroupLink#fence()} (any thread): the group was promoted, so this session ends. */
    void fenced(String group) {
        onLoop(() -> {
            if (state != State.CLOSED) {
                fail(new ProtocolException(ErrorCode.GROUP_PROMOTED, "group " + group
                        + " was promoted at the DR site"));
            }
        });
    }

    private void releaseGroups() {
        for (GroupLink link : taken) {
            link.release(this);
        }
    }

    private void cancelHelloDeadline() {
        if (helloDeadline != null) {
            helloDeadline.cancel(false);
            helloDeadline = null;
        }
    }

    private void failOnLoop(ProtocolException error) {
        onLoop(() -> fail(error));
    }

    private void onLoop(Runnable task) {
        try {
            ctx.executor().execute(task);
        } catch (RejectedExecutionException e) {
            // the event loop is shutting down: the channel is closed with it
        }
    }

    private void logTlsFailure(Throwable cause) {
        if (tlsFailureLogged) {
            return;
        }
        tlsFailureLogged = true;
        SSLException ssl = findSslException(cause);
        LOG.warn("replication connection from {} refused at the TLS layer: {}", peer,
                ssl != null ? ssl.getMessage() : String.valueOf(cause));
    }

    private static SSLException findSslException(Throwable cause) {
        for (Throwable c = cause; c != null; c = c.getCause()) {
            if (c instanceof SSLException ssl) {
                return ssl;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return null;
    }

    /**
     * One group of this session: its link, its volumes by index, and the ACK path. As the
     * {@code onDurable} of every append it takes durable seqs on the journal thread and sends the
     * newest as one ACK from the event loop, however many syncs completed meanwhile.
     */
    private final class SessionGroup implements LongConsumer, Runnable {
        final GroupLink link;
        final List<VolumeInfo> volumes;
        final long[] volumeSizes;
        final AtomicLong latestDurable;
        final AtomicBoolean flushQueued = new AtomicBoolean();
        long lastAcked;

        SessionGroup(GroupLink link, List<VolumeInfo> volumes, long durableSeq) {
            this.link = link;
            this.volumes = List.copyOf(volumes);
            this.volumeSizes = new long[volumes.size()];
            for (int i = 0; i < volumeSizes.length; i++) {
                volumeSizes[i] = volumes.get(i).sizeBytes();
            }
            this.latestDurable = new AtomicLong(durableSeq);
            this.lastAcked = durableSeq;
        }

        void checkExtents(Delta delta) {
            for (int i = 0; i < delta.extentCount(); i++) {
                int volumeIndex = delta.volumeIndex(i);
                if (volumeIndex >= volumeSizes.length) {
                    throw new ProtocolException(ErrorCode.MALFORMED, "DELTA of group " + link.group() + " seq "
                            + delta.firstSeq() + ".." + delta.lastSeq() + ": extent " + i + " names volume index "
                            + volumeIndex + ", the group has " + volumeSizes.length + " volumes");
                }
                long end = delta.offset(i) + delta.length(i);
                if (end > volumeSizes[volumeIndex]) {
                    throw new ProtocolException(ErrorCode.MALFORMED, "DELTA of group " + link.group() + " seq "
                            + delta.firstSeq() + ".." + delta.lastSeq() + ": extent " + i + " (volume "
                            + volumes.get(volumeIndex).name() + ", offset " + delta.offset(i) + ", length "
                            + delta.length(i) + ") ends at byte " + end + ", past the volume's size of "
                            + volumeSizes[volumeIndex] + " bytes");
                }
            }
        }

        /** Journal thread: a sync covered an append (or a {@code whenDurable} wait ended). */
        @Override
        public void accept(long durableSeq) {
            latestDurable.accumulateAndGet(durableSeq, Math::max);
            if (flushQueued.compareAndSet(false, true)) {
                onLoop(this);
            }
        }

        /** Event loop: sends the newest durable seq, resumes reading once the journal caught up. */
        @Override
        public void run() {
            flushQueued.set(false);
            if (state != State.ACTIVE) {
                return;
            }
            long durableSeq = latestDurable.get();
            if (durableSeq > lastAcked) {
                lastAcked = durableSeq;
                ctx.writeAndFlush(new Ack(link.group(), durableSeq).encode(ctx.alloc()));
            }
            resumeReadingIfDrained();
        }
    }
}
