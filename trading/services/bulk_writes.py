"""``bulk_create`` and ``bulk_update`` in one statement each, whose cost hardly grows with its
rows. ``rows_insert`` copies the rows in (COPY, each value dumped in C); ``rows_update``
sends each column as one array (bound by the server, in binary, not quoted in Python), unnested
into rows, so its statement's text is the same for any number of rows and is prepared once per
connection (marginsite/database_pool.py). The values are the ORM's, prepared by each field as
``save`` prepares them. A sweep's batch writes its rows with them
(trading/services/write_batches.py). ``row_update`` is ``save(update_fields=...)`` for a row an
order changes, and ``WritesStatement`` sends everything a fill writes in one statement. Each
statement's text is made once per model (and fields): the ORM plans its statements anew at every
save, which cost a market order more CPU than its queries' round trips."""

import functools
from datetime import datetime
from decimal import Decimal

from django.db import DatabaseError, connection, connections
from django.db.models.base import ModelState

from marginsite.database_pool import prepared_cursor

# The type a value of a column of these kinds already has when it goes to the database as it is
# (None is NULL): what ``get_db_prep_save`` would make of it. Other values go through the field.
READY_TYPES = {
    "AutoField": int, "BigAutoField": int, "IntegerField": int, "BigIntegerField": int,
    "PositiveIntegerField": int, "PositiveSmallIntegerField": int, "BooleanField": bool,
    "CharField": str, "TextField": str, "DateTimeField": datetime, "DecimalField": Decimal,
}  # fmt: skip


def _arrays(fields, rows: list) -> list[list]:
    """Each field's values of ``rows``, as the database takes them."""
    database = connections[connection.alias]  # the proxy would look it up at each use
    return [_column(field, rows, database) for field in fields]


def _column(field, rows: list, database) -> list:
    """``field``'s values of ``rows``: its ready type looked up once for the column, not for
    each of a batch's thousands of values (a field's hash is Python's)."""
    ready, attname = _ready_type(field), field.attname
    return [_prepared(field, ready, getattr(row, attname), database) for row in rows]


def _prepared(field, ready: type | None, value, database):
    """``value`` of ``field`` as the database takes it (``ready``: the field's ready type)."""
    if value is None or (type(value) is ready and (ready is not Decimal or value.is_finite())):
        return value
    if ready is str and isinstance(value, str):  # a choice: the field would keep it as it is
        return value
    return field.get_db_prep_save(value, database)


@functools.cache
def _ready_type(field) -> type | None:
    return READY_TYPES.get((field.target_field if field.is_relation else field).get_internal_type())


def _columns(fields) -> list[tuple]:
    """Each of ``fields`` with its ready type and its attname, for a statement made once: a
    field's hash, which looking its ready type up takes, is Python's, and a fill's statement has
    some fifty values."""
    return [(field, _ready_type(field), field.attname) for field in fields]


def _stamped(fields) -> list:
    """The fields of ``fields`` whose ``pre_save`` sets the time (``auto_now``, ``auto_now_add``):
    no other field of these models has a ``pre_save`` of its own."""
    return [
        field
        for field in fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]


def _unnested(fields) -> str:
    """Each array cast to its column's type without the length or scale (``varchar``, not
    ``varchar(600)``): an explicit cast would cut a text that is too long, where the column
    refuses it, as it does any insert or update."""
    quote = connection.ops.quote_name
    return ", ".join(
        f"unnest(%b::{field.db_type(connection).split('(')[0]}[]) AS {quote(field.column)}"
        for field in fields
    )


def statement_run(sql: str, params: list, *, numbered: bool = False) -> list[tuple]:
    """Run ``sql`` with its parameters bound by the server (arrays go in binary), prepared from
    its 5th run on the connection: the statements here are the same text for any number of
    rows. ``numbered``: its parameters are PostgreSQL's own ``$1``, ``$2``... (``_numbered``).
    The rows it returns, if any."""
    with prepared_cursor(raw=numbered) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _numbered(sql: str) -> str:
    """``sql`` with its ``%s`` as ``$1``, ``$2``...: psycopg reads a statement's ``%s`` at each
    run, unless it keeps what it read, which it does only for a text under 4 KB with at most 50
    parameters; a fill's statement is longer, and is read here once."""
    parts = sql.split("%s")
    numbered = (f"{part}${number}" for number, part in enumerate(parts[:-1], 1))
    return "".join(numbered) + parts[-1]


@functools.cache
def _insert_statement(model) -> tuple[list, list, list]:
    """The fields an insert of ``model`` writes (all but its primary key), its relations among
    them, and its stamped times."""
    fields = [field for field in model._meta.concrete_fields if field is not model._meta.pk]
    return fields, [field for field in fields if field.is_relation], _stamped(fields)


@functools.cache
def _insert_columns(model) -> list[tuple]:
    """``_columns`` of an insert of ``model``, made once per model."""
    return _columns(_insert_statement(model)[0])


def _row_ready(model, row, placed: dict) -> list[tuple[int, int, int]]:
    """Make ``row``, a new instance of ``model``, ready to insert: it points at the rows it
    names by their ids (a batch's rows are inserted in INSERT_ORDER), and its stamped times are
    set. Those of its fields that point at a row inserted before it in the same statement
    (``placed``: id of the row -> (its insert, its place there)), which the statement gives
    their ids: (the field's place, that row's insert, its place there) each."""
    fields, relations, stamped = _insert_statement(model)
    references = []
    for field in relations:
        unset = getattr(row, field.attname) is None
        if unset and (related := field.get_cached_value(row, None)) is not None:
            if related.pk is not None:
                setattr(row, field.attname, related.pk)
            elif id(related) in placed:
                references.append((fields.index(field), *placed[id(related)]))
            else:  # never a NULL for a row not inserted yet
                raise ValueError(f"{model.__name__}.{field.name}: not inserted before")
    for field in stamped:
        setattr(row, field.attname, field.pre_save(row, add=True))
    return references


def row_new(model, **values):
    """A new instance of ``model``, to insert: ``model(**values)`` (a field by its name, a
    relation by its instance or its ``_id``; every other field its default), made without the
    passes ``Model.__init__`` makes over the fields for each keyword, its router check of each
    related instance and its init signals, which none of these models has. A liquidation makes
    a dozen rows: their ``__init__`` was a tenth of a flash crash's CPU."""
    row = model.__new__(model)
    row._state = ModelState()
    kept = row.__dict__
    for name, attname, target, field in _fields_of(model):
        if target and name in values:  # a relation, by its instance: cached, as __init__ does
            related = values.pop(name)
            kept[attname] = None if related is None else getattr(related, target)
            if related is not None:
                field.set_cached_value(row, related)
                if field.one_to_one:
                    field.remote_field.set_cached_value(related, row)
        elif attname in values:
            kept[attname] = values.pop(attname)
        elif name in values:
            kept[attname] = values.pop(name)
        else:
            kept[attname] = field.get_default()
    if values:
        raise TypeError(f"{model.__name__} has no field {next(iter(values))!r}")
    return row


@functools.cache
def _fields_of(model) -> list[tuple]:
    """Each field of ``model``: its name, attname, the attname of the field a relation points
    at (None for a field that is not one), and the field."""
    return [
        (f.name, f.attname, f.target_field.attname if f.is_relation else None, f)
        for f in model._meta.concrete_fields
    ]


def _inserted(rows: list, ids) -> None:
    for row, row_id in zip(rows, ids, strict=True):
        row.pk = row_id
        row._state.adding, row._state.db = False, connection.alias


def rows_insert(model, rows: list) -> None:
    """Insert ``rows`` (new instances of ``model``), setting their primary keys: drawn from the
    table's sequence first, in the rows' order, then the rows copied in (COPY), where psycopg
    dumps each value in C, as it does not walk an insert's arrays. A batch of a flash crash
    inserts thousands of rows per table. In COPY's text format, not its binary one: the server
    reads every value as it reads an insert's, and refuses one its column cannot hold (binary,
    psycopg would have cut a leverage of 70,000 to fit a smallint, without a word)."""
    if not rows:
        return
    pk = model._meta.pk.attname
    for row, row_id in zip(rows, _ids_drawn(model, len(rows)), strict=True):
        setattr(row, pk, row_id)
    fields, types, sql = _copy_statement(model)
    database = connections[connection.alias]
    columns = _columns(fields)
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types(types)
        for row in rows:
            _row_ready(model, row, {})
            copy.write_row(
                [
                    _prepared(field, ready, getattr(row, name), database)
                    for field, ready, name in columns
                ]
            )
    for row in rows:
        row._state.adding, row._state.db = False, connection.alias


def _ids_drawn(model, count: int) -> list[int]:
    """``count`` new ids of ``model``'s table, from its identity's sequence, ascending. (OFFSET
    0 keeps the sequence's lookup apart: merged into the outer query, it ran for every id, at
    five times the cost of drawing them.)"""
    table, column = model._meta.db_table, model._meta.pk.column
    ids = statement_run(
        "SELECT nextval(sequence) FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass "
        "AS sequence OFFSET 0) drawn, generate_series(1, %s)",
        [table, column, count],
    )
    return sorted(row_id for (row_id,) in ids)


@functools.cache
def _copy_statement(model) -> tuple[list, list[str], str]:
    """The fields a COPY of ``model`` writes (its primary key first), their types, and the
    statement."""
    quote = connection.ops.quote_name
    fields = [model._meta.pk, *_insert_statement(model)[0]]
    types = [field.db_type(connection).split("(")[0] for field in fields]
    columns = ", ".join(quote(field.column) for field in fields)
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    return fields, types, sql


@functools.cache
def _rows_update_statement(model, names: tuple[str, ...]) -> tuple[list, str]:
    quote = connection.ops.quote_name
    fields = [model._meta.pk, *(model._meta.get_field(name) for name in names)]
    pk = quote(model._meta.pk.column)
    assigned = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in fields[1:])
    sql = (
        f"UPDATE {quote(model._meta.db_table)} AS t SET {assigned} "
        f"FROM (SELECT {_unnested(fields)}) AS v WHERE t.{pk} = v.{pk}"
    )
    return fields, sql


def rows_update(model, rows: list, names: list[str]) -> None:
    """Write the fields ``names`` of ``rows`` (instances of ``model``), by primary key."""
    fields, sql = _rows_update_statement(model, tuple(names))
    statement_run(sql, _arrays(fields, rows))


@functools.cache
def _row_update_statement(model, names: tuple[str, ...]) -> tuple[list, list, str]:
    """The columns an update of ``names`` writes (``_columns``), its stamped fields and its
    statement."""
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    assigned = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {assigned} "
        f"WHERE {quote(model._meta.pk.column)} = %s"
    )
    return _columns(fields), _stamped(fields), sql


def _update_params(row, names: tuple[str, ...]) -> list:
    """The values of ``row``'s fields ``names`` and its primary key, its stamped times set."""
    columns, stamped, _ = _row_update_statement(type(row), names)
    for field in stamped:
        setattr(row, field.attname, field.pre_save(row, add=False))
    database = connections[connection.alias]
    return [
        *(_prepared(field, ready, getattr(row, name), database) for field, ready, name in columns),
        row.pk,
    ]


def row_update(row, names: list[str]) -> None:
    """Write the fields ``names`` of ``row``, an instance read from the database, by primary
    key, as ``row.save(update_fields=names)`` does: the ``auto_now`` times among them are set to
    now, and a row that is not there is an error."""
    statement = WritesStatement()
    statement.update(row, names)
    statement.run()


class WritesStatement:
    """New rows to insert, rows whose fields to write and statements of the caller's, sent as
    one statement: one round trip, prepared as the others are (its text is the same for the
    same tables, fields and numbers of rows). A fill writes so its order, its journal, a new
    position and its margin's account, its ledger entries, itself, its wallet's and position's
    changes and the reduce-only orders it cancels (trading/services/fills.py). Each row is
    written once. A row inserted here may point at a row inserted before it here: the
    statement's own insert gives it the id. An update is ``row_update``'s.

    The values go one by one, not as ``rows_insert``'s arrays: a fill's few rows are many
    columns of one row each, and psycopg dumps a value in C where it walks each array in Python
    (that cost an order more than the statement's round trip)."""

    def __init__(self):
        self._inserts: list[tuple[type, list]] = []
        self._updates: list[tuple[object, tuple[str, ...]]] = []
        self._others: list[tuple[str, list]] = []

    def insert(self, model, rows: list) -> None:
        """Insert ``rows``, new instances of ``model``; their primary keys are set by ``run``."""
        if rows:
            self._inserts.append((model, list(rows)))

    def update(self, row, names: list[str]) -> None:
        """Write the fields ``names`` of ``row`` (``row_update``)."""
        self._updates.append((row, tuple(names)))

    def add(self, sql: str, params: list) -> None:
        """Run ``sql`` (a data-modifying statement, parameters as ``%s``) in this statement. Its
        rows are not among the others': each part sees the database as it was before the
        statement, none sees what another part writes."""
        self._others.append((sql, list(params)))

    def run(self) -> None:
        """Send everything kept, in the caller's transaction, and forget it."""
        if not (self._inserts or self._updates or self._others):
            return
        params, inserts, pointing = [], [], []
        placed: dict[int, tuple[int, int]] = {}  # id of a row inserted here -> (insert, row)
        for number, (model, rows) in enumerate(self._inserts):
            shapes = []
            for row in rows:
                references = _row_ready(model, row, placed)
                params += _row_values(model, row, references)
                shapes.append(tuple(references))
                if references:
                    pointing.append((row, model, references))
            placed.update((id(row), (number, index)) for index, row in enumerate(rows))
            inserts.append((model, tuple(shapes)))
        for row, names in self._updates:
            params += _update_params(row, names)
        for _, other in self._others:
            params += other
        shape = (
            tuple(inserts),
            tuple((type(row), names) for row, names in self._updates),
            tuple(sql for sql, _ in self._others),
        )
        (written,) = statement_run(_writes_statement(shape), params, numbered=True)
        for (_, rows), ids in zip(self._inserts, written, strict=False):
            _inserted(rows, ids)  # ordered by id: a sequence numbers an insert's rows in order
        for row, model, references in pointing:
            for position, _, _ in references:
                field = _insert_statement(model)[0][position]
                setattr(row, field.attname, field.get_cached_value(row).pk)
        updated = written[len(self._inserts) : len(self._inserts) + len(self._updates)]
        for (row, _), count in zip(self._updates, updated, strict=True):
            if count != 1:
                raise DatabaseError(f"{type(row).__name__} {row.pk}: no row to update")
        self._inserts, self._updates, self._others = [], [], []


def _row_values(model, row, references: list) -> list:
    """The values of ``row``, ready (``_row_ready``), as its insert takes them: those of the
    ``references`` come from the statement."""
    skipped = {position for position, _, _ in references}
    database = connections[connection.alias]
    return [
        _prepared(field, ready, getattr(row, name), database)
        for position, (field, ready, name) in enumerate(_insert_columns(model))
        if position not in skipped
    ]


@functools.cache
def _writes_statement(shape: tuple[tuple, tuple, tuple]) -> str:
    """``WritesStatement``'s statement for its tables, fields and rows: each insert, update and
    other statement a common table expression, and what each insert and update wrote (the ids
    inserted, the rows updated)."""
    quote = connection.ops.quote_name
    inserted, updated, others = shape
    parts, written = [], []
    for number, (model, rows) in enumerate(inserted):
        fields = _insert_statement(model)[0]
        values = ", ".join(f"({_row_placeholders(len(fields), references)})" for references in rows)
        columns = ", ".join(quote(field.column) for field in fields)
        pk = quote(model._meta.pk.column)
        parts.append(
            f"i{number} AS (INSERT INTO {quote(model._meta.db_table)} ({columns}) "
            f"VALUES {values} RETURNING {pk} AS id)"
        )
        written.append(f"(SELECT array_agg(id ORDER BY id) FROM i{number})")
    for number, (model, names) in enumerate(updated):
        parts.append(f"u{number} AS ({_row_update_statement(model, names)[2]} RETURNING 1)")
        written.append(f"(SELECT count(*) FROM u{number})")
    parts += [f"o{number} AS ({sql})" for number, sql in enumerate(others)]
    return _numbered(f"WITH {', '.join(parts)} SELECT {', '.join(written) or 'NULL'}")


def _row_placeholders(count: int, references: tuple) -> str:
    """A row's values: a parameter each, but for a field that points at a row inserted before
    it in the statement: that row's id, from its insert."""
    values = ["%s"] * count
    for position, insert, index in references:
        values[position] = f"(SELECT id FROM i{insert} ORDER BY id OFFSET {index} LIMIT 1)"
    return ", ".join(values)
