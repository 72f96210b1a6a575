package sizhong.infra.mongo;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import de.bwaldvogel.mongo.wire.message.MongoQuery;
import io.netty.channel.Channel;

/**
 * mongo-java-server's H2 backend, made durable: a write command is answered only after an MVStore
 * commit that covers it has reached the file, so an acknowledged write survives `kill -9`.
 *
 * <p>Out of the box the backend keeps writes in memory until MVStore's background thread commits,
 * about once a second, so a killed server loses the last second of acknowledged writes. Here the
 * MVStore is opened without that thread (see {@link SizhongMongoServer}) and this class commits.
 *
 * <p><b>Group commit.</b> A command that wrote notes how many commits had started when it finished,
 * then waits for the commit lock. If a commit that started later has completed meanwhile, that
 * commit covered its write and it is answered at once; otherwise it commits itself, covering every
 * command finished so far. Concurrent writers therefore share commits instead of queueing one each,
 * and a write that changed nothing (a version guard that matched no document) commits nothing.
 *
 * <p><b>Whole commands only.</b> Every command runs holding {@link #operations}' read lock and a
 * commit holds its write lock, so a commit never stores half a command (say a unique-index entry
 * without its document), and no command reads a map while a commit frees the chunks behind it.
 * That is also why the store can run with a retention time of 0 (freed space is reused at once).
 * Commands that change indexes or collections take the write lock too (see EXCLUSIVE_COMMANDS).
 *
 * <p><b>Databases.</b> Its databases are {@link IdLookupDatabase}s: their collections find a document
 * by its {@code _id} index also when a filter has other conditions besides the {@code _id}
 * ({@link IdLookupH2Collection}), and dropping one leaves every other database alone.
 */
final class DurableH2Backend extends H2Backend {

    private static final Logger log = LoggerFactory.getLogger(DurableH2Backend.class);

    /** The names of H2Database's maps: {@code databases.<db>.<collection>} holds the documents, {@code meta.<db>.<collection>} the sizes. */
    private static final String DATA_MAP_PREFIX = "databases.";
    private static final String META_MAP_PREFIX = "meta.";
    private static final String SYSTEM_PREFIX = "system.";
    private static final String INDEXES_COLLECTION = "system.indexes";
    private static final String NAMESPACES_COLLECTION = "system.namespaces";

    /** Commands that change data or metadata (lower case); anything else that did is caught by hasUnsavedChanges. */
    private static final Set<String> WRITE_COMMANDS = Set.of(
        "insert", "update", "delete", "findandmodify", "create", "drop", "dropdatabase", "createindexes",
        "dropindexes", "deleteindexes", "renamecollection", "aggregate", "collmod");

    /**
     * Commands that change a collection's structure. mongo-java-server does not guard its index
     * lists against concurrent commands: createIndexes while another client inserts into the same
     * collection fails that insert with a ConcurrentModificationException ("Unknown error"), and a
     * dropDatabase after such a race fails halfway ("Expected [...] to be empty"), leaving maps
     * behind that come back as a database at the next start. These run alone, as a commit does.
     */
    private static final Set<String> EXCLUSIVE_COMMANDS = Set.of(
        "create", "drop", "dropdatabase", "createindexes", "dropindexes", "deleteindexes", "renamecollection", "collmod");

    /** {@code {sizhongQueryStats: 1}} on any database: how this server's queries found their documents since it started. */
    private static final String QUERY_STATS_COMMAND = "sizhongquerystats";

    private final MVStore store;
    private final ReentrantReadWriteLock operations = new ReentrantReadWriteLock();
    private final ReentrantLock commitLock = new ReentrantLock();
    private final AtomicLong commitsStarted = new AtomicLong();
    /** The number of the last commit that completed; written under commitLock. */
    private volatile long commitsCompleted;
    private final AtomicLong writeCommands = new AtomicLong();
    private final AtomicLong storeCommits = new AtomicLong();
    private final AtomicLong commitNanos = new AtomicLong();

    DurableH2Backend(MVStore store) {
        super(store);
        this.store = store;
    }

    /** Called from H2Backend's constructor for the databases already in the file, and later for new ones. */
    @Override
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new IdLookupDatabase(databaseName, getMvStore(), getCursorRegistry());
    }

    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
        String name = command.toLowerCase(Locale.ROOT);
        if (name.equals(QUERY_STATS_COMMAND)) return queryStats();
        boolean write = WRITE_COMMANDS.contains(name);
        Lock lock = EXCLUSIVE_COMMANDS.contains(name) ? operations.writeLock() : operations.readLock();
        lock.lock();
        try {
            return super.handleCommand(channel, databaseName, command, query);
        } finally {
            lock.unlock();
            // Also after a failed command: an ordered insert may have stored some documents before it failed.
            if (write || store.hasUnsavedChanges()) {
                writeCommands.incrementAndGet();
                commitCovering();
            }
        }
    }

    private static Document queryStats() {
        Document stats = new Document();
        stats.put("idLookups", IdLookupH2Collection.ID_LOOKUPS.get());
        stats.put("collectionScans", IdLookupH2Collection.COLLECTION_SCANS.get());
        stats.put("ok", 1.0);
        return stats;
    }

    /** A legacy OP_QUERY read (drivers since MongoDB 3.6 send none): under the shared lock like any command. */
    @Override
    public QueryResult handleQuery(MongoQuery query) {
        operations.readLock().lock();
        try {
            return super.handleQuery(query);
        } finally {
            operations.readLock().unlock();
        }
    }

    /**
     * Returns once a commit has completed that started after this thread's command finished.
     * A commit "starts" when it holds the write lock, so no command runs then: every command that
     * finished before is in it, and every command that started after is not.
     */
    private void commitCovering() {
        long seen = commitsStarted.get();
        commitLock.lock();
        try {
            if (commitsCompleted > seen) return;
            // No commit runs while we hold commitLock, so nothing unsaved means our change (if any) is stored.
            if (!store.hasUnsavedChanges()) return;
            commitsCompleted = commitExclusively();
        } finally {
            commitLock.unlock();
        }
    }

    /** Commits under the write lock; returns the commit's number. */
    private long commitExclusively() {
        operations.writeLock().lock();
        try {
            long number = commitsStarted.incrementAndGet();
            long startedAt = System.nanoTime();
            store.commit();
            commitNanos.addAndGet(System.nanoTime() - startedAt);
            storeCommits.incrementAndGet();
            return number;
        } catch (RuntimeException e) {
            // The write is applied in memory but not on disk: it must not be acknowledged, and the
            // in-memory state must not outlive it. Exit; a restart reads the last good commit.
            log.error("commit failed; exiting so that no unsaved write is acknowledged", e);
            Runtime.getRuntime().halt(70);
            throw e;
        } finally {
            operations.writeLock().unlock();
        }
    }

    /**
     * Moves live data out of sparse chunks and truncates the file, for at most {@code maxMillis};
     * runs between commands like a commit. Without it a busy store only grows.
     */
    void compactFile(int maxMillis) {
        commitLock.lock();
        try {
            operations.writeLock().lock();
            try {
                long number = commitsStarted.incrementAndGet();
                store.commit();
                commitsCompleted = number;
                store.compactFile(maxMillis);
            } finally {
                operations.writeLock().unlock();
            }
        } finally {
            commitLock.unlock();
        }
    }

    long writeCommands() {
        return writeCommands.get();
    }

    long storeCommits() {
        return storeCommits.get();
    }

    long commitMillis() {
        return commitNanos.get() / 1_000_000;
    }

    /** Commits and closes the store after the last command (the server has stopped its threads). */
    @Override
    public void close() {
        commitLock.lock();
        try {
            operations.writeLock().lock();
            try {
                super.close();
            } finally {
                operations.writeLock().unlock();
            }
        } finally {
            commitLock.unlock();
        }
    }
    /**
     * H2Database with two changes: its collections are {@link IdLookupH2Collection}s, and {@link #drop}
     * removes only this database's maps.
     *
     * <p>An inner class on purpose: H2Database's constructor opens the existing collections through
     * {@link #openOrCreateCollection} before a subclass's own fields are set, while the reference to
     * the enclosing backend (and through it the store, set by H2Backend's constructor before any
     * database opens) is assigned before that constructor runs.
     */
    private final class IdLookupDatabase extends H2Database {

        IdLookupDatabase(String databaseName, MVStore store, CursorRegistry cursorRegistry) {
            super(databaseName, store, cursorRegistry);
        }

        /** As H2Database's, with IdLookupH2Collection for H2Collection. */
        @Override
        protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
            MVStore store = getMvStore();
            String fullCollectionName = getFullCollectionNamespace(collectionName);
            MVMap<Object, Document> dataMap = store.openMap(DATA_MAP_PREFIX + fullCollectionName);
            MVMap<String, Object> metaMap = store.openMap(META_MAP_PREFIX + fullCollectionName);
            return new IdLookupH2Collection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
        }

        /**
         * H2Database.drop removes every map whose name merely starts with {@code databases.<name>} or
         * {@code meta.<name>}, so dropping database {@code bench_x} also deleted the documents of
         * {@code bench_x_baseline} (and its list of indexes, after which dropping that database failed
         * with "Expected [H2UniqueIndex[name=_id_]] to be empty"). This does what AbstractMongoDatabase.drop
         * and H2Database.drop do, in the same order, but takes only the maps of this database: names
         * followed by a dot.
         */
        @Override
        public void drop(Oplog oplog) {
            MVStore store = getMvStore();
            String dataPrefix = DATA_MAP_PREFIX + databaseName + ".";
            List<String> collectionNames = store.getMapNames().stream()
                .filter(name -> name.startsWith(dataPrefix))
                .map(name -> name.substring(dataPrefix.length()))
                .filter(name -> !name.startsWith(SYSTEM_PREFIX))
                .sorted()
                .toList();
            for (String collectionName : collectionNames) {
                dropCollectionIfOpen(collectionName, oplog);
            }
            dropCollectionIfOpen(INDEXES_COLLECTION, oplog);
            dropCollectionIfOpen(NAMESPACES_COLLECTION, oplog);

            List<String> leftovers = store.getMapNames().stream()
                .filter(name -> name.startsWith(databaseName + ".") || name.startsWith(dataPrefix)
                    || name.startsWith(META_MAP_PREFIX + databaseName + "."))
                .toList();
            for (String name : leftovers) {
                store.removeMap(store.openMap(name));
            }
        }

        private void dropCollectionIfOpen(String collectionName, Oplog oplog) {
            if (resolveCollection(collectionName, false) != null) {
                dropCollection(collectionName, oplog);
            }
        }
    }
}
