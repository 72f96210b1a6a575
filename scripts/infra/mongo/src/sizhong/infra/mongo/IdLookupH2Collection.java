package sizhong.infra.mongo;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.h2.mvstore.MVMap;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.Document;

/**
 * An H2 collection that finds a document through its {@code _id} index whenever a filter names one
 * {@code _id} value, also when the filter has other conditions besides.
 *
 * <p>mongo-java-server 1.47.0 uses an index only when a filter's fields are exactly the index's
 * fields ({@code AbstractUniqueIndex.canHandle} compares the key sets), so {@code {_id: x}} is one
 * lookup while {@code {_id: x, version: 3}} or {@code {_id: x, available: {$gte: 5}}} reads and
 * matches every document of the collection: every guarded write slowed down as its collection grew.
 *
 * <p>Here, when the filter has a plain {@code _id} equality (a string, number, ObjectId or other
 * scalar; not an operator document, a sub-document, an array, a regular expression or null) and
 * other fields, the {@code _id} index gives the one candidate position (exactly as for the filter
 * {@code {_id: x}} alone), and the whole filter is then matched against that document by the
 * library's own matcher. Any document the whole filter matches has that {@code _id}, so the result
 * is the same as a scan's. Every other filter takes the library's path unchanged.
 *
 * <p>The server counts both kinds of query (command {@code sizhongQueryStats}, see
 * {@link DurableH2Backend}), so a test can tell that a filter was answered by the index.
 */
final class IdLookupH2Collection extends H2Collection {

    /** Queries answered through the _id index by this class although the filter had other fields too. */
    static final AtomicLong ID_LOOKUPS = new AtomicLong();
    /** Queries that read every document of their collection (the library's path when no index applies). */
    static final AtomicLong COLLECTION_SCANS = new AtomicLong();

    IdLookupH2Collection(MongoDatabase database, String collectionName, CollectionOptions options, MVMap<Object, Document> dataMap,
                         MVMap<String, Object> metaMap, CursorRegistry cursorRegistry) {
        super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
    }

    @Override
    protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit, int batchSize,
                                         Document fieldSelector) {
        String idField = getIdField();
        if (idField != null && query != null && query.size() > 1 && query.containsKey(idField)) {
            Object id = query.get(idField);
            if (isPlainEquality(id)) {
                Index<Object> idIndex = idIndex(idField);
                Document idQuery = new Document(idField, id);
                if (idIndex != null && idIndex.canHandle(idQuery)) {
                    Iterable<Object> positions = idIndex.getPositions(idQuery);
                    ID_LOOKUPS.incrementAndGet();
                    return matchDocuments(query, positions, orderBy, numberToSkip, limit, batchSize, fieldSelector);
                }
            }
        }
        return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
    }

    /** The library's full scan, counted. */
    @Override
    protected QueryResult matchDocuments(Document query, Document orderBy, int numberToSkip, int numberToReturn, int batchSize,
                                         Document fieldSelector) {
        COLLECTION_SCANS.incrementAndGet();
        return super.matchDocuments(query, orderBy, numberToSkip, numberToReturn, batchSize, fieldSelector);
    }

    /** A value that a filter compares for equality as it is, the only kind a unique index answers exactly. */
    static boolean isPlainEquality(Object value) {
        return !Missing.isNullOrMissing(value)
            && !(value instanceof Map)
            && !(value instanceof Collection)
            && !BsonRegularExpression.isRegularExpression(value);
    }

    /** The unique index on the id field alone ({@code _id_}), or null when the collection has none (yet). */
    private Index<Object> idIndex(String idField) {
        for (Index<Object> index : getIndexes()) {
            List<IndexKey> keys = index.getKeys();
            if (index.isUnique() && keys.size() == 1 && keys.get(0).getKey().equals(idField)) {
                return index;
            }
        }
        return null;
    }
}
