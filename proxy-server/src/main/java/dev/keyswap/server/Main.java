package dev.keyswap.server;

public final class Main {
    public static void main(String[] args) {
    }
}
