"""The MariaDB connector against the real server: a user per grant that can read the bound
table, removed with its open connections at the end; overlapping grants independent; drift
seen; bad bindings refused (docs/connectors.md, "MariaDB and MySQL")."""

from __future__ import annotations

import pymysql
import pytest

from apps.connectors.base import ConnectorError
from apps.connectors.connectors.mariadb import MariaDBConnector, native_password_hash
from apps.connectors.forms import TargetBindingForm
from apps.connectors.models import TargetBinding
from apps.connectors.registry import connector_for
from tests.access.factories import GrantFactory
from tests.connectors.mariadb_support import admin_connect, login
from tests.factories import DataAssetFactory, UserFactory

#: MariaDB refuses an unknown user with either code, depending on how the handshake went.
ACCESS_DENIED = {1045, 1698}


@pytest.fixture
def asset(db):
    return DataAssetFactory(name="Customer records")


def _select(conn) -> list[tuple]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT id, name FROM customers ORDER BY id")
        return list(cursor.fetchall())


def test_the_registry_serves_mariadb_targets(mariadb_target):
    # Given a target of kind "mariadb", when the registry is asked, then it is this connector
    # and its guarantees say plainly that MariaDB has no VALID UNTIL.
    connector = connector_for(mariadb_target.target)
    assert isinstance(connector, MariaDBConnector)
    assert "no VALID UNTIL" in str(connector.guarantees)


def test_native_password_hash_is_what_the_server_computes():
    # Given a password, when hashed here and by the server's PASSWORD(), then both agree.
    with admin_connect() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT PASSWORD(%s)", ["s3cret-Pass"])
        (server,) = cursor.fetchone()
    assert native_password_hash("s3cret-Pass") == server


def test_shown_credentials_select_and_the_end_refuses_login_and_kills_the_session(
    mariadb_target, asset
):
    # Given a grant of view on an asset bound to the customers table
    mariadb_target.bind(asset)
    grant = GrantFactory(assets=[asset])
    connector = connector_for(mariadb_target.target)
    context = mariadb_target.context(grant)

    # When it is provisioned, then the shown credentials log in and read the table
    result = connector.provision(context)
    assert result.account == context.account and result.secret
    session = login(result.account, result.secret, mariadb_target.database)
    assert _select(session) == [(1, "Ada Lovelace"), (2, "Alan Turing")]
    # ... and nothing else: writing and other tables are refused
    with pytest.raises(pymysql.err.OperationalError), session.cursor() as cursor:
        cursor.execute("SELECT * FROM invoices")

    # When it is deprovisioned
    connector.deprovision([result.account])

    # Then the open session is cut, a new login is refused and the user is gone
    with pytest.raises(pymysql.err.OperationalError), session.cursor() as cursor:
        cursor.execute("SELECT 1")
    with pytest.raises(pymysql.err.OperationalError) as refused:
        login(result.account, result.secret, mariadb_target.database)
    assert refused.value.args[0] in ACCESS_DENIED
    assert mariadb_target.users() == set()
    # And removing it again is no error (idempotent)
    connector.deprovision([result.account])


def test_change_maps_to_the_bindings_privileges(mariadb_target, asset):
    # Given a binding mapping change to UPDATE only, and a grant with change
    mariadb_target.bind(asset, privileges={"view": ["SELECT"], "change": ["UPDATE"]})
    grant = GrantFactory(assets=[asset], can_change=True)
    connector = connector_for(mariadb_target.target)
    result = connector.provision(mariadb_target.context(grant, actions=("view", "change")))

    # When the holder updates and inserts, then the update works and the insert is refused
    with login(result.account, result.secret, mariadb_target.database) as conn:
        with conn.cursor() as cursor:
            cursor.execute("UPDATE customers SET name = 'Ada King' WHERE id = 1")
        with pytest.raises(pymysql.err.OperationalError), conn.cursor() as cursor:
            cursor.execute("INSERT INTO customers VALUES (3, 'Grace Hopper', 'g@example.org')")
    connector.deprovision([result.account])


def test_a_retry_gives_a_new_password_and_the_old_one_stops(mariadb_target, asset):
    # Given a provisioned grant
    mariadb_target.bind(asset)
    grant = GrantFactory(assets=[asset])
    connector = connector_for(mariadb_target.target)
    context = mariadb_target.context(grant)
    first = connector.provision(context)

    # When provision runs again (a retry after a lost answer)
    second = connector.provision(context)

    # Then there is still one user, the new password works and the old one is refused
    assert mariadb_target.users() == {context.account}
    assert first.secret != second.secret
    login(second.account, second.secret, mariadb_target.database).close()
    with pytest.raises(pymysql.err.OperationalError):
        login(first.account, first.secret, mariadb_target.database)
    connector.deprovision([context.account])


def test_overlapping_grants_have_their_own_users_and_one_ending_leaves_the_other(
    mariadb_target, asset
):
    # Given two grants of one person to one asset, each provisioned
    mariadb_target.bind(asset)
    holder = UserFactory()
    early, late = (
        GrantFactory(user=holder, assets=[asset]),
        GrantFactory(user=holder, assets=[asset]),
    )
    connector = connector_for(mariadb_target.target)
    a = connector.provision(mariadb_target.context(early))
    b = connector.provision(mariadb_target.context(late))
    assert a.account != b.account and a.secret != b.secret
    session_a = login(a.account, a.secret, mariadb_target.database)
    session_b = login(b.account, b.secret, mariadb_target.database)

    # When the first one ends
    connector.deprovision([a.account])

    # Then its session is cut and the other grant's session and logins still work
    with pytest.raises(pymysql.err.OperationalError), session_a.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert len(_select(session_b)) == 2
    login(b.account, b.secret, mariadb_target.database).close()
    assert mariadb_target.users() == {b.account}
    connector.deprovision([b.account])
    session_b.close()


def test_a_batch_removes_many_users_and_all_their_connections(mariadb_target, asset):
    # Given five provisioned grants, two with two open sessions each
    mariadb_target.bind(asset)
    connector = connector_for(mariadb_target.target)
    results = [
        connector.provision(mariadb_target.context(GrantFactory(assets=[asset]))) for _ in range(5)
    ]
    sessions = [
        login(r.account, r.secret, mariadb_target.database) for r in results[:2] for _ in range(2)
    ]

    # When all are removed in one batch
    connector.deprovision([r.account for r in results])

    # Then no user and no session is left
    assert mariadb_target.users() == set()
    for session in sessions:
        with pytest.raises(pymysql.err.OperationalError), session.cursor() as cursor:
            cursor.execute("SELECT 1")


def test_a_user_dropped_by_hand_still_has_its_session_killed(mariadb_target, asset):
    # Given a provisioned user with an open session, dropped by someone by hand (MariaDB
    # keeps the session of a dropped user running)
    mariadb_target.bind(asset)
    connector = connector_for(mariadb_target.target)
    result = connector.provision(mariadb_target.context(GrantFactory(assets=[asset])))
    session = login(result.account, result.secret, mariadb_target.database)
    with admin_connect() as admin, admin.cursor() as cursor:
        cursor.execute("DROP USER %s@'%%'", [result.account])
    with session.cursor() as cursor:
        cursor.execute("SELECT 1")  # still alive

    # When the portal removes it, then the session is killed too
    connector.deprovision([result.account])
    with pytest.raises(pymysql.err.OperationalError), session.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_observe_lists_users_with_the_prefix_and_their_tables(mariadb_target, asset):
    # Given one provisioned user and one made by hand with the prefix, and one without it
    mariadb_target.bind(asset)
    connector = connector_for(mariadb_target.target)
    result = connector.provision(mariadb_target.context(GrantFactory(assets=[asset])))
    stray = f"{mariadb_target.target.account_prefix}byhand"
    with admin_connect() as admin, admin.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY 'x'", [stray])
        cursor.execute("CREATE USER IF NOT EXISTS 'jp_outsider'@'%' IDENTIFIED BY 'x'")
    try:
        # When the target is observed
        seen = {a.name: a.memberships for a in connector.observe()}
    finally:
        with admin_connect() as admin, admin.cursor() as cursor:
            cursor.execute("DROP USER IF EXISTS 'jp_outsider'@'%'")

    # Then both prefixed users are listed, with the tables they hold, and nothing else
    assert seen == {
        result.account: frozenset({f"{mariadb_target.database}.customers"}),
        stray: frozenset(),
    }


def test_a_target_that_does_not_answer_is_a_retryable_error(mariadb_target, asset, settings):
    # Given the target's URL pointing at a port nothing listens on
    mariadb_target.bind(asset)
    settings.JITPORTAL_TEST_MARIADB_TARGET_URL = "mysql://root@127.0.0.1:1/none"
    connector = connector_for(mariadb_target.target)

    # When provisioning or removing, then a retryable ConnectorError says so, without the URL
    with pytest.raises(ConnectorError) as error:
        connector.provision(mariadb_target.context(GrantFactory(assets=[asset])))
    assert error.value.retryable
    assert "mysql://" not in str(error.value)
    with pytest.raises(ConnectorError):
        connector.deprovision([f"{mariadb_target.target.account_prefix}g1_abcdef"])


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        ({"tables": ["nosuch"]}, "tables", "has no table “nosuch”"),
        ({"schema": "jp_no_such_db"}, "schema", "no database “jp_no_such_db”"),
        ({"tables": []}, "tables", "List the tables"),
        ({"privileges": {"view": ["DROP"]}}, "privileges", "must be among"),
        ({"privileges": {"read": ["SELECT"]}}, "privileges", "is not an action"),
    ],
)
def test_bad_bindings_are_refused_with_a_clear_message(mariadb_target, asset, values, field, text):
    # Given a binding with a mistake, when the connector checks it, then it names the field
    binding = TargetBinding(
        target=mariadb_target.target,
        asset=asset,
        schema=values.get("schema", mariadb_target.database),
        tables=values.get("tables", ["customers"]),
        privileges=values.get("privileges", {}),
    )
    problems = connector_for(mariadb_target.target).check_binding(binding)
    assert [p.field for p in problems] == [field]
    assert text in problems[0].message


def test_a_good_binding_passes_and_an_unset_url_setting_is_refused(mariadb_target, asset, settings):
    # Given a binding of an existing table, then it has no problem
    binding = TargetBinding(
        target=mariadb_target.target,
        asset=asset,
        schema=mariadb_target.database,
        tables=["customers"],
    )
    connector = connector_for(mariadb_target.target)
    assert connector.check_binding(binding) == []
    assert connector.check_target() == []

    # When the URL setting is not set on this server, then target and binding are refused
    del settings.JITPORTAL_TEST_MARIADB_TARGET_URL
    problems = connector.check_target()
    assert [p.field for p in problems] == ["url_setting"]
    assert "JITPORTAL_TEST_MARIADB_TARGET_URL" in problems[0].message
    assert [p.field for p in connector.check_binding(binding)] == ["target"]


def test_a_portal_user_without_the_needed_privileges_is_refused(mariadb_target, settings):
    # Given the target's URL naming a user that may read but not create users or kill
    weak = f"{mariadb_target.target.account_prefix}weak"
    with admin_connect() as admin, admin.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY 'weakpw'", [weak])
        cursor.execute(f"GRANT SELECT ON `{mariadb_target.database}`.* TO %s@'%%'", [weak])
    settings.JITPORTAL_TEST_MARIADB_TARGET_URL = (
        f"mysql://{weak}:weakpw@127.0.0.1:3306/{mariadb_target.database}"
    )

    # When the target is checked, then the missing privileges are named
    problems = connector_for(mariadb_target.target).check_target()
    assert len(problems) == 1
    assert "CREATE USER" in problems[0].message and "CONNECTION ADMIN" in problems[0].message


@pytest.fixture
def least_privileged(mariadb_target, settings):
    """The portal's user on the target with exactly the privileges docs/connectors.md lists
    (and a second database it was given nothing on)."""
    portal = f"{mariadb_target.target.account_prefix}portal"
    hidden = f"{mariadb_target.database}_hidden"
    with admin_connect() as admin, admin.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY 'portalpw'", [portal])
        cursor.execute("GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO %s@'%%'", [portal])
        cursor.execute("GRANT SELECT ON mysql.user TO %s@'%%'", [portal])
        cursor.execute("GRANT SELECT ON mysql.tables_priv TO %s@'%%'", [portal])
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{mariadb_target.database}`.* "
            "TO %s@'%%' WITH GRANT OPTION",
            [portal],
        )
        cursor.execute(f"CREATE DATABASE `{hidden}`")
        cursor.execute(f"CREATE TABLE `{hidden}`.secrets (id INT PRIMARY KEY)")
    settings.JITPORTAL_TEST_MARIADB_TARGET_URL = (
        f"mysql://{portal}:portalpw@127.0.0.1:3306/{mariadb_target.database}"
    )
    yield hidden
    with admin_connect() as admin, admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE `{hidden}`")


def test_the_documented_privileges_are_enough(mariadb_target, asset, least_privileged):
    # Given the portal connecting as a user with only the documented privileges
    connector = connector_for(mariadb_target.target)
    assert connector.check_target() == []
    mariadb_target.bind(asset)

    # When a grant is provisioned, used and removed, then all of it works
    result = connector.provision(mariadb_target.context(GrantFactory(assets=[asset])))
    session = login(result.account, result.secret, mariadb_target.database)
    assert len(_select(session)) == 2
    connector.deprovision([result.account])
    with pytest.raises(pymysql.err.OperationalError), session.cursor() as cursor:
        cursor.execute("SELECT 1")
    # and the portal's own login, though its name has the prefix, is never listed
    assert connector.observe() == []


def test_a_database_the_portal_cannot_reach_is_refused_in_the_admin_form(
    mariadb_target, asset, least_privileged
):
    # Given a database the portal's user holds nothing on, when a binding to it is saved
    form = TargetBindingForm(
        data={
            "target": mariadb_target.target.pk,
            "asset": asset.pk,
            "schema": least_privileged,
            "tables": '["secrets"]',
            "privileges": "{}",
            "options": "{}",
        }
    )

    # Then the form refuses it under the schema field, and nothing is saved
    assert not form.is_valid()
    assert form.errors["schema"] == [
        f"The target has no database “{least_privileged}” the portal's user can reach."
    ]
    assert not TargetBinding.objects.exists()


def test_a_bad_account_host_option_is_refused(mariadb_target):
    # Given a target whose account host is not a host pattern, when checked, then refused
    mariadb_target.target.options = {"account_host": "%' OR 1=1 --"}
    problems = connector_for(mariadb_target.target).check_target()
    assert [p.field for p in problems] == ["options"]
    assert "is not a host pattern" in problems[0].message


@pytest.mark.parametrize("table", ["50%_off", "a%sb", "100%"])
def test_a_table_whose_name_holds_a_percent_sign_is_granted(mariadb_target, asset, table):
    # Given a bound table whose name holds "%" (the binding form accepts it: it exists)
    with admin_connect(mariadb_target.database) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE TABLE `{table}` (id INT PRIMARY KEY)")
        cursor.execute(f"INSERT INTO `{table}` VALUES (7)")
    binding = mariadb_target.bind(asset, tables=(table,))
    assert connector_for(mariadb_target.target).check_binding(binding) == []
    grant = GrantFactory(assets=[asset])
    connector = connector_for(mariadb_target.target)

    # When the grant is provisioned
    result = connector.provision(mariadb_target.context(grant))

    # Then its holder reads that table, and the removal works as for any other
    session = login(result.account, result.secret, mariadb_target.database)
    with session, session.cursor() as cursor:
        cursor.execute(f"SELECT id FROM `{table}`")
        assert cursor.fetchall() == ((7,),)
    connector.deprovision([result.account])
    assert mariadb_target.users() == set()
