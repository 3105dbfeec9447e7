/* _hllgeo: the per-element loops of PFADD, of a geo search and of a stream reply, in C.
 *
 * Why this exists. These loops are short work that Python runs slowly:
 * PFADD into a sparse HLL walks every run-length opcode before the register it
 * changes (a few thousand bytes, hundreds of microseconds in Python), a
 * GEOSEARCH decodes and measures each of the hundreds of candidates its cells
 * hold, and an XRANGE of 100 entries formats 100 IDs around the stored rows
 * (about 45 us in Python, most of the command). The Python modules remain the
 * reference and the fallback when the extension is not built
 * (server/datatypes/hyperloglog.py: murmur64a, dense_set, sparse_set;
 * server/commands/geo.py: _search; server/datatypes/stream.py:
 * encode_entries_py); the tests compare the two on random inputs, byte for
 * byte and bit for bit.
 *
 * HLL. add(hll, element, max_bytes) hashes the element (MurmurHash64A with
 * Redis's seed) and raises its register, in the dense or the sparse encoding,
 * following hllSparseSet step by step so the string stays identical to the
 * one Redis writes. It returns 1 (changed) or 0, -1 when the HLL must turn
 * dense first (a value above 32, or a sparse string that would outgrow
 * max_bytes: Python promotes and sets the register), -2 for sparse opcodes
 * that do not add up (Python raises INVALIDOBJ).
 *
 * Geo. scan(keys, kind, lon, lat, radius_m, width_m, height_m, limit, found)
 * reads sorted-set index keys (8 bytes of order-preserving score, then the
 * member; see server/datatypes/zset.py), decodes each score's cell centre as
 * Redis does, keeps those inside the circle or box, and appends
 * (distance_m, member) to found, stopping once found holds limit entries
 * (0: no limit). The doubles come from the same operations in
 * the same order and the same libm as the Python code, hence as Redis.
 *
 * Streams. entries(ms, seq, rows, offs, gone, j, k, rev, limit) encodes the
 * entries j..k-1 of one stream node (k-1 down to j when rev), at most limit of
 * them (0: all), as the RESP pairs [id, [field, value ...]] XRANGE and XREAD
 * reply with, skipping deleted entries; it returns (count, bytes). The node's
 * IDs are two sequences of 64-bit halves (lists of ints while the node is
 * open, array('Q') once frozen, or array('I') for sequence numbers that all
 * fit 32 bits); its rows, already RESP-encoded, are a list
 * of bytes (None for a deleted entry) or one blob cut at the offsets offs
 * (array('I')), deleted positions in the set gone. The Python reference is
 * server/datatypes/stream.py: encode_entries_py.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* a*b+c must stay two roundings, as in the Python reference and in Redis on x86-64. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#elif defined(__clang__)
#pragma clang fp contract(off)
#endif

/* ------------------------------------------------------------------ HyperLogLog */

#define HDR 16
#define HLL_P 14
#define HLL_Q (64 - HLL_P)
#define HLL_P_MASK ((1 << HLL_P) - 1)
#define REGISTER_MAX 63
#define VAL_MAX_VALUE 32
#define VAL_MAX_LEN 4
#define ZERO_MAX_LEN 64

static uint64_t murmur64a(const unsigned char *data, Py_ssize_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    uint64_t h = seed ^ ((uint64_t)len * m);
    const unsigned char *p = data;
    const unsigned char *end = data + (len - (len & 7));
    for (; p != end; p += 8) {
        uint64_t k = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24
                   | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
        k *= m;
        k ^= k >> 47;
        k *= m;
        h ^= k;
        h *= m;
    }
    if (len & 7) {
        uint64_t tail = 0;
        for (int i = (int)(len & 7) - 1; i >= 0; i--)
            tail = tail << 8 | p[i];
        h ^= tail;
        h *= m;
    }
    h ^= h >> 47;
    h *= m;
    h ^= h >> 47;
    return h;
}

static unsigned char val_op(int value, long len)
{
    return (unsigned char)(0x80 | (value - 1) << 2 | (len - 1));
}

/* A run of zero registers: ZERO up to 64, XZERO above. Returns the bytes written. */
static int zero_run(unsigned char *out, long len)
{
    if (len > ZERO_MAX_LEN) {
        out[0] = (unsigned char)(((len - 1) >> 8) | 0x40);
        out[1] = (unsigned char)((len - 1) & 0xff);
        return 2;
    }
    out[0] = (unsigned char)(len - 1);
    return 1;
}

static int dense_set(unsigned char *hll, long index, int count)
{
    long bit = index * 6;
    unsigned char *p = hll + HDR + (bit >> 3);
    int shift = (int)(bit & 7);
    unsigned int word = p[0];
    if (shift > 2)
        word |= (unsigned int)p[1] << 8;
    if ((int)((word >> shift) & REGISTER_MAX) >= count)
        return 0;
    word = (word & ~((unsigned int)REGISTER_MAX << shift)) | (unsigned int)count << shift;
    p[0] = (unsigned char)word;
    if (shift > 2)
        p[1] = (unsigned char)(word >> 8);
    return 1;
}

/* Step 4 of hllSparseSet: merge adjacent equal VALs, scanning five opcodes from p.
 * Returns the new length (the caller shrinks the bytearray). */
static Py_ssize_t merge_vals(unsigned char *hll, Py_ssize_t p, Py_ssize_t end)
{
    int scan = 5;
    while (p < end && scan--) {
        int op = hll[p];
        if ((op & 0xc0) == 0x40) {
            p += 2;
            continue;
        }
        if ((op & 0xc0) == 0) {
            p += 1;
            continue;
        }
        if (p + 1 < end && hll[p + 1] & 0x80) {
            int next = hll[p + 1];
            int value = ((op >> 2) & 0x1f) + 1;
            if (value == ((next >> 2) & 0x1f) + 1) {
                long len = (op & 3) + 1 + (next & 3) + 1;
                if (len <= VAL_MAX_LEN) {
                    memmove(hll + p, hll + p + 1, (size_t)(end - p - 1));
                    end -= 1;
                    hll[p] = val_op(value, len);
                    continue;
                }
            }
        }
        p += 1;
    }
    return end;
}

/* hllSparseSet: 1 changed, 0 unchanged, -1 promote, -2 corrupt, -3 Python error. */
static int sparse_set(PyObject *array, long index, int count, Py_ssize_t max_bytes)
{
    if (count > VAL_MAX_VALUE)
        return -1;
    unsigned char *hll = (unsigned char *)PyByteArray_AS_STRING(array);
    Py_ssize_t end = PyByteArray_GET_SIZE(array);
    Py_ssize_t p = HDR, prev = -1;
    long first = 0, span = 0;
    int op = 0;
    while (p < end) {
        Py_ssize_t oplen = 1;
        op = hll[p];
        if (op & 0x80) {
            span = (op & 3) + 1;
        } else if (op & 0x40) {
            span = (((op & 0x3f) << 8) | (p + 1 < end ? hll[p + 1] : 0)) + 1;
            oplen = 2;
        } else {
            span = (op & 0x3f) + 1;
        }
        if (index < first + span)
            break;
        prev = p;
        p += oplen;
        first += span;
    }
    if (span == 0 || p >= end)
        return -2;
    int kind = op & 0x80 ? 2 : (op & 0x40 ? 1 : 0); /* VAL, XZERO, ZERO */
    if (kind == 2) {
        if (((op >> 2) & 0x1f) + 1 >= count)
            return 0;
        if (span == 1) {
            hll[p] = val_op(count, 1);
            goto updated;
        }
    }
    if (kind == 0 && span == 1) {
        hll[p] = val_op(count, 1);
        goto updated;
    }
    {
        unsigned char seq[5];
        int n = 0;
        long last = first + span - 1;
        if (kind != 2) {
            if (index != first)
                n += zero_run(seq + n, index - first);
            seq[n++] = val_op(count, 1);
            if (index != last)
                n += zero_run(seq + n, last - index);
        } else {
            int current = ((op >> 2) & 0x1f) + 1;
            if (index != first)
                seq[n++] = val_op(current, index - first);
            seq[n++] = val_op(count, 1);
            if (index != last)
                seq[n++] = val_op(current, last - index);
        }
        Py_ssize_t old_len = kind == 1 ? 2 : 1;
        if (n - old_len > 0 && end + (n - old_len) > max_bytes)
            return -1;
        if (old_len > end - p) /* an XZERO cut short by the end of a corrupt string */
            old_len = end - p;
        Py_ssize_t tail = end - p - old_len;
        if (n > old_len) {
            if (PyByteArray_Resize(array, end + n - old_len) < 0)
                return -3;
            hll = (unsigned char *)PyByteArray_AS_STRING(array);
            memmove(hll + p + n, hll + p + old_len, (size_t)tail);
        } else if (n < old_len) {
            memmove(hll + p + n, hll + p + old_len, (size_t)tail);
        }
        memcpy(hll + p, seq, (size_t)n);
        end = end + n - old_len;
    }
updated:
    {
        Py_ssize_t merged = merge_vals(hll, prev >= 0 ? prev : HDR, end);
        if (merged != PyByteArray_GET_SIZE(array) && PyByteArray_Resize(array, merged) < 0)
            return -3;
        hll = (unsigned char *)PyByteArray_AS_STRING(array);
        hll[15] |= 0x80;
    }
    return 1;
}

PyDoc_STRVAR(add_doc,
"add(hll: bytearray, element: bytes, max_bytes: int) -> int\n\n"
"PFADD one element to a valid-header HLL: 1 if a register changed, 0 if not,\n"
"-1 if the HLL must turn dense first, -2 for corrupt sparse opcodes.");

static PyObject *add(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *array;
    Py_buffer element;
    Py_ssize_t max_bytes;
    if (!PyArg_ParseTuple(args, "O!y*n:add", &PyByteArray_Type, &array, &element, &max_bytes))
        return NULL;
    uint64_t h = murmur64a(element.buf, element.len, 0xadc83b19ULL);
    PyBuffer_Release(&element);
    if (PyByteArray_GET_SIZE(array) < HDR) {
        PyErr_SetString(PyExc_ValueError, "not an HLL");
        return NULL;
    }
    long index = (long)(h & HLL_P_MASK);
    uint64_t rest = h >> HLL_P | 1ULL << HLL_Q;
    int count = 1;
    while (!(rest & 1)) {
        rest >>= 1;
        count++;
    }
    unsigned char *hll = (unsigned char *)PyByteArray_AS_STRING(array);
    int result;
    if (hll[4] == 0) {
        if (PyByteArray_GET_SIZE(array) != HDR + 12288) {
            PyErr_SetString(PyExc_ValueError, "not a dense HLL");
            return NULL;
        }
        result = dense_set(hll, index, count);
    } else {
        result = sparse_set(array, index, count, max_bytes);
        if (result == -3)
            return NULL;
    }
    return PyLong_FromLong(result);
}

PyDoc_STRVAR(murmur_doc, "murmur64a(data: bytes) -> int\n\nMurmurHash64A with Redis's HLL seed.");

static PyObject *murmur(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*:murmur64a", &data))
        return NULL;
    uint64_t h = murmur64a(data.buf, data.len, 0xadc83b19ULL);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLongLong(h);
}

/* ------------------------------------------------------------------ geo */

#define GEO_LAT_MIN (-85.05112878)
#define GEO_LAT_MAX 85.05112878
#define GEO_LONG_MIN (-180.0)
#define GEO_LONG_MAX 180.0
#define EARTH_RADIUS_IN_METERS 6372797.560856
#define CIRCULAR 1

static const double D_R = 3.14159265358979323846264338327950288 / 180.0;

/* The even bits of a 64-bit word, packed into 32 bits. */
static uint32_t squash(uint64_t x)
{
    x &= 0x5555555555555555ULL;
    x = (x | (x >> 1)) & 0x3333333333333333ULL;
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
    x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
    return (uint32_t)x;
}

static double lat_distance(double lat1, double lat2)
{
    return EARTH_RADIUS_IN_METERS * fabs(lat2 * D_R - lat1 * D_R);
}

static double distance(double lon1, double lat1, double lon2, double lat2)
{
    double lon1r = lon1 * D_R;
    double lon2r = lon2 * D_R;
    double v = sin((lon2r - lon1r) / 2);
    if (v == 0.0)
        return lat_distance(lat1, lat2);
    double lat1r = lat1 * D_R;
    double lat2r = lat2 * D_R;
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * EARTH_RADIUS_IN_METERS * asin(sqrt(a));
}

/* The score an index key encodes (the inverse of zset.score_key). */
static double key_score(const unsigned char *key)
{
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits = bits << 8 | key[i];
    if (bits >> 63) {
        double d;
        memcpy(&d, &bits, 8);
        return -d;
    }
    bits = ~bits;
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

PyDoc_STRVAR(scan_doc,
"scan(keys, kind, lon, lat, radius_m, width_m, height_m, limit, found) -> None\n\n"
"Append (distance_m, member) to found for each index key whose\n"
"position lies in the circle (kind 1) or box around (lon, lat); scores in [0, 2**52].");

static PyObject *scan(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *keys, *found;
    int kind;
    double lon0, lat0, radius_m, width_m, height_m;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "OidddddnO!:scan", &keys, &kind, &lon0, &lat0,
                          &radius_m, &width_m, &height_m, &limit, &PyList_Type, &found))
        return NULL;
    PyObject *it = PyObject_GetIter(keys);
    if (it == NULL)
        return NULL;
    const double div = (double)(1 << 26);
    const double lat_scale = GEO_LAT_MAX - GEO_LAT_MIN;
    const double long_scale = GEO_LONG_MAX - GEO_LONG_MIN;
    double lon1r = lon0 * D_R;
    double lat1r = lat0 * D_R;
    double cos_lat1 = cos(lat1r);
    PyObject *key;
    while ((key = PyIter_Next(it)) != NULL) {
        if (!PyBytes_Check(key) || PyBytes_GET_SIZE(key) < 8) {
            Py_DECREF(key);
            Py_DECREF(it);
            PyErr_SetString(PyExc_TypeError, "index keys are bytes of at least 8");
            return NULL;
        }
        const unsigned char *raw = (const unsigned char *)PyBytes_AS_STRING(key);
        double score = key_score(raw);
        if (!(score >= 0 && score <= 4503599627370496.0)) {
            Py_DECREF(key);
            Py_DECREF(it);
            PyErr_SetString(PyExc_ValueError, "a geo search reads scores in [0, 2**52] only");
            return NULL;
        }
        uint64_t bits = (uint64_t)score;
        uint32_t ilato = squash(bits);
        uint32_t ilono = squash(bits >> 1);
        double lon = ((GEO_LONG_MIN + (ilono * 1.0 / div) * long_scale)
                      + (GEO_LONG_MIN + ((ilono + 1) * 1.0 / div) * long_scale)) / 2;
        double lat = ((GEO_LAT_MIN + (ilato * 1.0 / div) * lat_scale)
                      + (GEO_LAT_MIN + ((ilato + 1) * 1.0 / div) * lat_scale)) / 2;
        if (lon > GEO_LONG_MAX)
            lon = GEO_LONG_MAX;
        else if (lon < GEO_LONG_MIN)
            lon = GEO_LONG_MIN;
        if (lat > GEO_LAT_MAX)
            lat = GEO_LAT_MAX;
        else if (lat < GEO_LAT_MIN)
            lat = GEO_LAT_MIN;
        double dist;
        if (kind == CIRCULAR) {
            double v = sin((lon * D_R - lon1r) / 2);
            if (v == 0.0) {
                dist = EARTH_RADIUS_IN_METERS * fabs(lat * D_R - lat1r);
            } else {
                double lat2r = lat * D_R;
                double u = sin((lat2r - lat1r) / 2);
                dist = 2.0 * EARTH_RADIUS_IN_METERS * asin(sqrt(u * u + cos_lat1 * cos(lat2r) * v * v));
            }
            if (dist > radius_m) {
                Py_DECREF(key);
                continue;
            }
        } else {
            if (lat_distance(lat, lat0) > height_m / 2 || distance(lon, lat, lon0, lat) > width_m / 2) {
                Py_DECREF(key);
                continue;
            }
            dist = distance(lon0, lat0, lon, lat);
        }
        PyObject *member = PyBytes_FromStringAndSize((const char *)raw + 8, PyBytes_GET_SIZE(key) - 8);
        Py_DECREF(key);
        PyObject *entry = member == NULL ? NULL : PyTuple_New(2);
        PyObject *meters = entry == NULL ? NULL : PyFloat_FromDouble(dist);
        if (meters == NULL) {
            Py_XDECREF(entry);
            Py_XDECREF(member);
            Py_DECREF(it);
            return NULL;
        }
        PyTuple_SET_ITEM(entry, 0, meters);
        PyTuple_SET_ITEM(entry, 1, member);
        int failed = PyList_Append(found, entry);
        Py_DECREF(entry);
        if (failed) {
            Py_DECREF(it);
            return NULL;
        }
        if (limit && PyList_GET_SIZE(found) >= limit)
            break;
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ Streams */

/* One of a node's two ID halves: a list of ints or a buffer of uint64. */
typedef struct {
    PyObject *list;
    Py_buffer view;
    Py_ssize_t len;
    int wide; /* array('Q'): 8-byte items; array('I'): 4-byte ones */
} halves;

static int halves_open(PyObject *obj, halves *h)
{
    h->list = NULL;
    h->view.obj = NULL;
    if (PyList_Check(obj)) {
        h->list = obj;
        h->len = PyList_GET_SIZE(obj);
        return 0;
    }
    if (PyObject_GetBuffer(obj, &h->view, PyBUF_FORMAT) < 0)
        return -1;
    const char *format = h->view.format;
    if (format != NULL && h->view.itemsize == 8 && strcmp(format, "Q") == 0)
        h->wide = 1;
    else if (format != NULL && h->view.itemsize == 4 && strcmp(format, "I") == 0)
        h->wide = 0;
    else {
        PyBuffer_Release(&h->view);
        PyErr_SetString(PyExc_TypeError, "stream IDs must be a list of ints, an array('Q') or an array('I')");
        return -1;
    }
    h->len = h->view.len / h->view.itemsize;
    return 0;
}

static void halves_close(halves *h)
{
    if (h->view.obj != NULL)
        PyBuffer_Release(&h->view);
}

static int halves_get(halves *h, Py_ssize_t i, uint64_t *out)
{
    if (h->list == NULL) {
        *out = h->wide ? ((const uint64_t *)h->view.buf)[i] : ((const uint32_t *)h->view.buf)[i];
        return 0;
    }
    *out = PyLong_AsUnsignedLongLong(PyList_GET_ITEM(h->list, i));
    return *out == (uint64_t)-1 && PyErr_Occurred() ? -1 : 0;
}

static int digits(uint64_t v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static char *put_u64(char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* The row at position x: 1 with row and size set, 0 for a deleted entry, -1 on error. */
static int row_at(PyObject *rows, const uint32_t *offs, Py_ssize_t blob_len, PyObject *gone, Py_ssize_t x,
                  const char **row, Py_ssize_t *size)
{
    if (offs == NULL) {
        PyObject *item = PyList_GET_ITEM(rows, x);
        if (item == Py_None)
            return 0;
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "a stream row must be bytes or None");
            return -1;
        }
        *row = PyBytes_AS_STRING(item);
        *size = PyBytes_GET_SIZE(item);
        return 1;
    }
    if (PySet_GET_SIZE(gone)) {
        PyObject *pos = PyLong_FromSsize_t(x);
        int found = pos == NULL ? -1 : PySet_Contains(gone, pos);
        Py_XDECREF(pos);
        if (found)
            return found < 0 ? -1 : 0;
    }
    if (offs[x] > offs[x + 1] || offs[x + 1] > blob_len) {
        PyErr_SetString(PyExc_ValueError, "stream row offsets out of order");
        return -1;
    }
    *row = PyBytes_AS_STRING(rows) + offs[x];
    *size = (Py_ssize_t)(offs[x + 1] - offs[x]);
    return 1;
}

PyDoc_STRVAR(entries_doc,
"entries(ms, seq, rows, offs, gone, j, k, rev, limit) -> (int, bytes)\n\n"
"A stream node's entries j..k-1 (reversed when rev, at most limit, 0: all) as RESP [id, row] pairs.");

static PyObject *entries(PyObject *self, PyObject *args)
{
    PyObject *ms_obj, *seq_obj, *rows, *offs_obj, *gone;
    Py_ssize_t j, k, limit;
    int rev;
    if (!PyArg_ParseTuple(args, "OOOOO!nnpn:entries", &ms_obj, &seq_obj, &rows, &offs_obj, &PySet_Type, &gone,
                          &j, &k, &rev, &limit))
        return NULL;
    halves ms, seq;
    Py_buffer offs_view = {0};
    const uint32_t *offs = NULL;
    Py_ssize_t blob_len = 0;
    PyObject *out = NULL;
    if (halves_open(ms_obj, &ms) < 0)
        return NULL;
    if (halves_open(seq_obj, &seq) < 0) {
        halves_close(&ms);
        return NULL;
    }
    Py_ssize_t len = ms.len;
    if (PyList_Check(rows)) {
        if (PyList_GET_SIZE(rows) != len)
            goto bad_sizes;
    } else if (PyBytes_Check(rows)) {
        if (PyObject_GetBuffer(offs_obj, &offs_view, PyBUF_FORMAT) < 0)
            goto done;
        if (offs_view.itemsize != 4 || offs_view.format == NULL || strcmp(offs_view.format, "I") != 0) {
            PyErr_SetString(PyExc_TypeError, "stream row offsets must be an array('I')");
            goto done;
        }
        if (offs_view.len / 4 != len + 1)
            goto bad_sizes;
        offs = offs_view.buf;
        blob_len = PyBytes_GET_SIZE(rows);
    } else {
        PyErr_SetString(PyExc_TypeError, "stream rows must be a list or a bytes blob");
        goto done;
    }
    if (seq.len != len || j < 0 || k > len || j > k) {
        goto bad_sizes;
    }
    /* Two passes over the same positions: the exact size first, then the bytes. */
    Py_ssize_t count = 0, total = 0, x, last = -1;
    for (Py_ssize_t i = 0; i < k - j && (!limit || count < limit); i++) {
        x = rev ? k - 1 - i : j + i;
        const char *row;
        Py_ssize_t size;
        uint64_t a, b;
        int live = row_at(rows, offs, blob_len, gone, x, &row, &size);
        if (live < 0 || halves_get(&ms, x, &a) < 0 || halves_get(&seq, x, &b) < 0)
            goto done;
        if (!live)
            continue;
        int id_len = digits(a) + 1 + digits(b);
        total += 4 + 1 + digits((uint64_t)id_len) + 2 + id_len + 2 + size;
        count++;
        last = i;
    }
    out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL)
        goto done;
    char *p = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i <= last; i++) {
        x = rev ? k - 1 - i : j + i;
        const char *row;
        Py_ssize_t size;
        uint64_t a, b;
        int live = row_at(rows, offs, blob_len, gone, x, &row, &size);
        if (live < 0 || halves_get(&ms, x, &a) < 0 || halves_get(&seq, x, &b) < 0) {
            Py_CLEAR(out);
            goto done;
        }
        if (!live)
            continue;
        int da = digits(a), db = digits(b), id_len = da + 1 + db;
        memcpy(p, "*2\r\n$", 5);
        p = put_u64(p + 5, (uint64_t)id_len, digits((uint64_t)id_len));
        *p++ = '\r';
        *p++ = '\n';
        p = put_u64(p, a, da);
        *p++ = '-';
        p = put_u64(p, b, db);
        *p++ = '\r';
        *p++ = '\n';
        memcpy(p, row, (size_t)size);
        p += size;
    }
    PyObject *pair = Py_BuildValue("nN", count, out);
    out = pair;
    goto done;
bad_sizes:
    PyErr_SetString(PyExc_ValueError, "stream node sizes do not match");
done:
    if (offs_view.obj != NULL)
        PyBuffer_Release(&offs_view);
    halves_close(&seq);
    halves_close(&ms);
    return out;
}

static PyMethodDef methods[] = {
    {"add", add, METH_VARARGS, add_doc},
    {"murmur64a", murmur, METH_VARARGS, murmur_doc},
    {"scan", scan, METH_VARARGS, scan_doc},
    {"entries", entries, METH_VARARGS, entries_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_hllgeo",
    .m_doc = "PFADD's register update, a geo search's candidate filter and stream replies in C (see the C source).",
    .m_size = -1,  /* no per-module state */
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__hllgeo(void)
{
    return PyModule_Create(&module);
}
