package io.ferry.receiver.session;

import io.ferry.tls.TlsContexts;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SslHandler;
import javax.net.ssl.SSLPeerUnverifiedException;

/** Who is at the other end of a session's channel, as its transport proved it. */
@FunctionalInterface
public interface PeerIdentity {

    /**
     * The peer's verified name (the CN of its TLS client certificate).
     *
     * @throws SSLPeerUnverifiedException if the transport proved no identity
     */
    String commonName(ChannelHandlerContext ctx) throws SSLPeerUnverifiedException;

    /** The CN of the client certificate the channel's {@link SslHandler} verified. */
    static PeerIdentity tls() {
        return ctx -> {
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            if (ssl == null) {
                throw new SSLPeerUnverifiedException("the connection has no TLS layer");
            }
            return TlsContexts.peerCommonName(ssl.engine().getSession());
        };
    }
}
