package sizhong.infra.mongo;

import java.io.File;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.h2.mvstore.MVStore;
import org.h2.mvstore.MVStoreTool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import de.bwaldvogel.mongo.MongoServer;

/**
 * The local MongoDB-wire server of Sizhong (docs/infrastructure.md): mongo-java-server over one
 * H2 MVStore file, every acknowledged write committed to that file (see {@link DurableH2Backend}).
 *
 * <pre>
 * java -cp classes:libs/* sizhong.infra.mongo.SizhongMongoServer --host 127.0.0.1 --port 27027 --file data/sizhong.mv.db
 * </pre>
 *
 * The file is compacted offline before it is opened and after it is closed (SIGTERM), and in the
 * background while the server runs. It logs to standard error; the caller redirects it to a file.
 */
public final class SizhongMongoServer {

    /** How often the running server compacts its file, and for how long at most each time. */
    private static final long HOUSEKEEPING_INTERVAL_SECONDS = 10;
    private static final int HOUSEKEEPING_MAX_MILLIS = 200;

    private SizhongMongoServer() {
    }

    public static void main(String[] args) {
        // slf4j-simple reads these once, when the first logger is made.
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
        // mongo-java-server logs every connection at info; its warnings and errors are worth keeping,
        // except the stack trace it logs at error for every client that closes its connection abruptly
        // (the Node.js driver's close does, and so does every killed service).
        System.setProperty("org.slf4j.simpleLogger.log.de.bwaldvogel", "warn");
        System.setProperty("org.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoExceptionHandler", "off");
        Logger log = LoggerFactory.getLogger(SizhongMongoServer.class);

        Settings settings;
        try {
            settings = Settings.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println("usage: SizhongMongoServer --host <address> --port <port> --file <path>.mv.db [--workers <threads>]");
            System.exit(2);
            return;
        }

        File file = new File(settings.file).getAbsoluteFile();
        File parent = file.getParentFile();
        if (parent != null && !parent.isDirectory() && !parent.mkdirs()) {
            log.error("cannot create directory {}", parent);
            System.exit(1);
        }
        compactOffline(log, file, "start");

        long openStartedAt = System.nanoTime();
        MVStore store = new MVStore.Builder()
            .fileName(file.getPath())
            // No background thread: it would commit on its own, possibly in the middle of a command.
            .autoCommitDisabled()
            // Nor a commit from a writer's thread when unsaved memory grows (also mid-command).
            .autoCommitBufferSize(0)
            .open();
        // Commands never overlap a commit (DurableH2Backend), so nothing reads a chunk once it is unused.
        store.setRetentionTime(0);
        DurableH2Backend backend = new DurableH2Backend(store);
        MongoServer server = new MongoServer(backend);
        try {
            server.bind(new InetSocketAddress(settings.host, settings.port), 1, settings.workers);
        } catch (RuntimeException e) {
            log.error("cannot listen on {}:{}: {}", settings.host, settings.port, e.toString());
            backend.close();
            System.exit(1);
            return;
        }
        log.info("listening on {}:{} with {} worker threads; file {} ({}) opened in {} ms", settings.host, settings.port,
            settings.workers, file, formatSize(file.length()), (System.nanoTime() - openStartedAt) / 1_000_000);

        ScheduledExecutorService housekeeping = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "sizhong-housekeeping");
            thread.setDaemon(true);
            return thread;
        });
        AtomicLong writesAtLastHousekeeping = new AtomicLong();
        housekeeping.scheduleWithFixedDelay(() -> {
            long writes = backend.writeCommands();
            if (writes == writesAtLastHousekeeping.getAndSet(writes)) return;
            try {
                backend.compactFile(HOUSEKEEPING_MAX_MILLIS);
            } catch (RuntimeException e) {
                log.warn("background compaction failed", e);
            }
        }, HOUSEKEEPING_INTERVAL_SECONDS, HOUSEKEEPING_INTERVAL_SECONDS, TimeUnit.SECONDS);

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            housekeeping.shutdownNow();
            log.info("stopping: {} write commands answered with {} commits taking {} ms", backend.writeCommands(), backend.storeCommits(),
                backend.commitMillis());
            // Closes the clients, stops the threads, then closes the backend, which commits and closes the file.
            server.shutdownNow();
            compactOffline(log, file, "stop");
            log.info("stopped");
        }, "sizhong-shutdown"));
    }

    /** Rewrites the file with only its live data (into a temporary file renamed over it). */
    private static void compactOffline(Logger log, File file, String when) {
        if (!file.exists()) return;
        long startedAt = System.nanoTime();
        long before = file.length();
        try {
            MVStoreTool.compactCleanUp(file.getPath());
            MVStoreTool.compact(file.getPath(), false);
            log.info("compacted {} at {}: {} -> {} in {} ms", file.getName(), when, formatSize(before), formatSize(file.length()),
                (System.nanoTime() - startedAt) / 1_000_000);
        } catch (RuntimeException e) {
            // The original file is untouched (the copy replaces it only when complete); run on it.
            log.warn("could not compact {} at {}: {}", file, when, e.toString());
        }
    }

    private static String formatSize(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1_048_576.0);
    }

    private static final class Settings {
        String host = "127.0.0.1";
        int port = 27027;
        String file;
        /** Commands run on netty's worker threads and wait there for their commit: more threads, bigger groups. */
        int workers = 16;

        static Settings parse(String[] args) {
            Settings settings = new Settings();
            for (int i = 0; i < args.length; i += 2) {
                if (i + 1 >= args.length) throw new IllegalArgumentException(args[i] + " needs a value");
                String value = args[i + 1];
                switch (args[i]) {
                    case "--host" -> settings.host = value;
                    case "--port" -> settings.port = parsePositive(args[i], value);
                    case "--file" -> settings.file = value;
                    case "--workers" -> settings.workers = parsePositive(args[i], value);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (settings.file == null) throw new IllegalArgumentException("--file is required");
            if (!settings.file.endsWith(".mv.db")) throw new IllegalArgumentException("--file must end in .mv.db");
            return settings;
        }

        private static int parsePositive(String option, String value) {
            try {
                int number = Integer.parseInt(value);
                if (number > 0) return number;
            } catch (NumberFormatException ignored) {
                // reported below
            }
            throw new IllegalArgumentException(option + " " + value + " is not a positive whole number");
        }
    }
}
