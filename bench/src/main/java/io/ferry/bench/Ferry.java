package io.ferry.bench;

public final class Ferry {
    public static void main(String[] args) {
    }
}
