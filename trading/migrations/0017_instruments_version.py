"""The instruments' version (trading/models/instruments.py, InstrumentsVersion): one row, set to a
new number from a sequence by a trigger on every change of an instrument or its brackets, in the
changing transaction."""

from django.db import migrations, models

BUMP = """
CREATE SEQUENCE trading_instruments_version_seq;
CREATE FUNCTION trading_instruments_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trading_instrumentsversion (id, version)
    VALUES (1, nextval('trading_instruments_version_seq'))
    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END $$;
CREATE TRIGGER trading_instrument_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON trading_instrument
    FOR EACH STATEMENT EXECUTE FUNCTION trading_instruments_version_bump();
CREATE TRIGGER trading_leveragebracket_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON trading_leveragebracket
    FOR EACH STATEMENT EXECUTE FUNCTION trading_instruments_version_bump();
INSERT INTO trading_instrumentsversion (id, version)
VALUES (1, nextval('trading_instruments_version_seq'));
"""

UNBUMP = """
DROP TRIGGER trading_leveragebracket_version ON trading_leveragebracket;
DROP TRIGGER trading_instrument_version ON trading_instrument;
DROP FUNCTION trading_instruments_version_bump();
DROP SEQUENCE trading_instruments_version_seq;
"""


class Migration(migrations.Migration):
    dependencies = [("trading", "0016_trader_tools")]

    operations = [
        migrations.CreateModel(
            name="InstrumentsVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(BUMP, UNBUMP),
    ]
