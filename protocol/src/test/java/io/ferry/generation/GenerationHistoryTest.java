package io.ferry.generation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.generation.GenerationHistory.Kind;
import io.ferry.generation.GenerationHistory.Relation;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GenerationHistoryTest {
    private static final long G1 = 0x1111;
    private static final long G2 = 0x2222;
    private static final long G3 = 0x3333;

    @Test
    void shouldSeeTheDrSiteNewerAfterAPromoteTheAgentWroteNothingPast() {
        GenerationHistory agent = GenerationHistory.of(G1);
        GenerationHistory dr = agent.begin(G2, 100);

        Relation relation = agent.relate(100, dr, 140);

        assertThat(relation.kind()).isEqualTo(Kind.OTHER_NEWER);
        assertThat(relation.ancestor()).isEqualTo(new GenerationHistory.Entry(G1, 0));
        assertThat(relation.divergedAtSeq()).isEqualTo(100);
        assertThat(relation.selfDivergentSeqs()).isZero();
        assertThat(relation.otherDivergentSeqs()).isEqualTo(40);
    }

    @Test
    void shouldCallItSplitBrainWhenTheOldPrimaryWrotePastThePromotePoint() {
        GenerationHistory agent = GenerationHistory.of(G1);
        GenerationHistory dr = agent.begin(G2, 100);

        Relation relation = agent.relate(103, dr, 100);

        assertThat(relation.kind()).isEqualTo(Kind.SPLIT_BRAIN);
        assertThat(relation.selfDivergentSeqs()).isEqualTo(3);
        assertThat(dr.relate(100, agent, 103).otherDivergentSeqs()).isEqualTo(3);
    }

    @Test
    void shouldCallItSplitBrainWhenBothStartedAGenerationAfterTheAncestor() {
        GenerationHistory base = GenerationHistory.of(G1).begin(G2, 50);
        Relation relation = base.begin(G3, 80).relate(90, base.begin(0x4444, 70), 75);

        assertThat(relation.kind()).isEqualTo(Kind.SPLIT_BRAIN);
        assertThat(relation.ancestor().id()).isEqualTo(G2);
        assertThat(relation.divergedAtSeq()).isEqualTo(70);
    }

    @Test
    void shouldFindTheAncestorAfterAnyNumberOfRounds() {
        GenerationHistory history = GenerationHistory.of(G1);
        for (int round = 1; round <= 10; round++) {
            GenerationHistory promoted = history.begin(round * 0x100L, round * 1000L);
            assertThat(history.relate(round * 1000L, promoted, round * 1000L + 5).kind()).isEqualTo(Kind.OTHER_NEWER);
            history = promoted;
        }
        assertThat(history.relate(1, GenerationHistory.of(0x9999), 1).kind()).isEqualTo(Kind.UNRELATED);
        assertThat(history.relate(10_005, history, 10_000).kind()).isEqualTo(Kind.SAME);
    }

    @Test
    void shouldRefuseAChainThatGoesBackInSeqs() {
        assertThatThrownBy(() -> GenerationHistory.of(G1).begin(G2, 10).begin(G3, 5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("before the one it follows");
        assertThatThrownBy(() -> GenerationHistory.of(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldKeepTheNewestGenerationsWhenTheChainIsLong() {
        GenerationHistory history = GenerationHistory.of(G1);
        for (int i = 1; i <= GenerationHistory.MAX_ENTRIES + 5; i++) {
            history = history.begin(i, i);
        }
        assertThat(history.entries()).hasSize(GenerationHistory.MAX_ENTRIES);
        assertThat(history.current().id()).isEqualTo(GenerationHistory.MAX_ENTRIES + 5);
    }

    /** Seen from either side, the relation is the same one with the sides swapped (500 random pairs). */
    @Test
    void shouldBeTheSameRelationSeenFromEitherSide() {
        Random random = new Random(7);
        for (int run = 0; run < 500; run++) {
            // two copies that share 1..4 generations, then each go on with 0..3 of their own
            GenerationHistory common = GenerationHistory.of(1);
            long seq = 0;
            for (int i = 1, shared = 1 + random.nextInt(4); i < shared; i++) {
                seq += random.nextInt(50);
                common = common.begin(1 + i, seq);
            }
            GenerationHistory a = common;
            long aSeq = seq;
            for (int i = 0, own = random.nextInt(4); i < own; i++) {
                aSeq += random.nextInt(50);
                a = a.begin(100 + i, aSeq);
            }
            GenerationHistory b = common;
            long bSeq = seq;
            for (int i = 0, own = random.nextInt(4); i < own; i++) {
                bSeq += random.nextInt(50);
                b = b.begin(200 + i, bSeq);
            }
            aSeq += random.nextInt(60);
            bSeq += random.nextInt(60);

            Relation ab = a.relate(aSeq, b, bSeq);
            Relation ba = b.relate(bSeq, a, aSeq);

            String pair = a + " at " + aSeq + " / " + b + " at " + bSeq;
            assertThat(ba.kind()).as(pair).isEqualTo(switch (ab.kind()) {
                case SELF_NEWER -> Kind.OTHER_NEWER;
                case OTHER_NEWER -> Kind.SELF_NEWER;
                default -> ab.kind();
            });
            assertThat(ab.ancestor()).as(pair).isEqualTo(common.current());
            assertThat(ba.divergedAtSeq()).as(pair).isEqualTo(ab.divergedAtSeq());
            assertThat(ba.selfDivergentSeqs()).as(pair).isEqualTo(ab.otherDivergentSeqs());
            if (ab.kind() == Kind.OTHER_NEWER) {
                assertThat(ab.selfDivergentSeqs()).as("the older side wrote nothing past the divergence").isZero();
            }
        }
    }
}
