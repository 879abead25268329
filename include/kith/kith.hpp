// The whole of kith with the SQLite adapter: models, queries, schema, errors.
#pragma once

#include <kith/connection.hpp>
#include <kith/error.hpp>
#include <kith/model.hpp>
#include <kith/query.hpp>
#include <kith/schema.hpp>
#include <kith/sqlite.hpp>
#include <kith/types.hpp>
